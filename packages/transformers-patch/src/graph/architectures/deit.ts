// DeiT (DeiTForImageClassification, …WithTeacher): ViT's names under `/deit`; the head reads the
// class token and, distilled, the distillation token too (two protected tokens, from the embeddings' Concat).
import { hfVitClassifier, hfVitScheme } from './vit.js';

export const deit = hfVitClassifier('deit', [hfVitScheme('deit')]);
