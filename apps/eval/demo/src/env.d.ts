// The bundled sample images (vite.demo.config.ts builds this module from the committed test set).
declare module 'virtual:demo-samples' {
  const data: {
    /** The committed image set they come from. */
    set: string;
    rows: number;
    cols: number;
    /** 1 (grey) or 3 (RGB, interleaved). */
    channels: 1 | 3;
    /** Class names of the bundled model (its config's id2label). */
    classes: string[];
    /** The first test image of each class: index in the set, label, rows·cols·channels bytes (base64). */
    samples: { index: number; label: number; pixels: string }[];
  };
  export default data;
}

// The depth page's model and samples (vite.demo.config.ts: depthModule).
declare module 'virtual:depth-demo' {
  const data: {
    /** The model served beside the page (models/<model>/). */
    model: string;
    /** The model the page wants (photo-depth); `fallback` is true when the build did not find it. */
    preferred: string;
    fallback: boolean;
    /** The dtypes whose ONNX files were copied. */
    dtypes: ('fp32' | 'fp16' | 'q8')[];
    samples: {
      /** The committed set they come from (depth-test, or photo-test where the depth scenes have no reader). */
      source: string;
      rows: number;
      cols: number;
      channels: number;
      items: { name: string; pixels: string }[];
    };
  };
  export default data;
}
