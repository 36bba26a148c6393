// The bundled sample images (vite.demo.config.ts builds this module from the committed test set).
declare module 'virtual:fmnist-samples' {
  const data: {
    rows: number;
    cols: number;
    /** Class names of the bundled model (its config's id2label). */
    classes: string[];
    /** The first test image of each class: index in fmnist-test, label, rows·cols grey bytes (base64). */
    samples: { index: number; label: number; pixels: string }[];
  };
  export default data;
}
