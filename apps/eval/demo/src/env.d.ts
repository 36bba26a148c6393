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
