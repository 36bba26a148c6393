// The jmp CLI's help texts. Every default they state comes from defaults.ts.
import {
  DEFAULT_BUDGET,
  DEFAULT_CALIBRATION_BATCH,
  DEFAULT_CALIBRATION_TAUS,
  DEFAULT_CLI_CALIBRATION_IMAGES,
  DEFAULT_TAU,
  DEFAULT_TAU_FEW_PATCHES,
  DEFAULT_TAU_KEYS,
  FEW_PATCHES,
} from '../defaults.js';

export const MAIN_USAGE = `Usage: jmp <command> [options]

Compiles JMP token compression into a standalone ONNX file, or shows what JMP finds and plans in a model.

Commands:
  compile <model> --out <file>   write the model with JMP spliced into its ONNX graph
  inspect <model>                show the blocks found, the planned tokens per block and the GMACs
  calibrate <model> <images>     choose τ on your own images, without labels: writes a plan for
                                 enableJMP(pipe, { plan })

<model> is a model folder in transformers.js layout (config.json, onnx/model*.onnx) or an .onnx file.

Options:
  -h, --help       show this help ('jmp <command> --help' for a command's options)
  -v, --version    print the version`;

/** calibrateJMP's default τ grid as --taus writes it (from:to:step). */
export const TAU_GRID = [DEFAULT_CALIBRATION_TAUS[0]!, DEFAULT_CALIBRATION_TAUS.at(-1)!, DEFAULT_CALIBRATION_TAUS[1]! - DEFAULT_CALIBRATION_TAUS[0]!]
  .map((v) => v.toFixed(2))
  .join(':');

const SCHEDULE_OPTIONS = `      --dtype <fp32|fp16|q8>       file of a model folder: onnx/model.onnx, model_fp16.onnx or
                                   model_quantized.onnx (default fp32)
      --budget <share>             share of the plain model's GMACs to spend, in (0, 1]: the keep
                                   rates are planned for it within ±1 % (default ${DEFAULT_BUDGET}, i.e. −${Math.round((1 - DEFAULT_BUDGET) * 100)} %)
      --keep <rate[,rate...]>      share of patch tokens kept at each reduction block, one value or
                                   one per block, instead of --budget
      --blocks <b[,b...]>          1-based reduction blocks, strictly increasing (default every
                                   second block but the last, every block from the second on models
                                   with at most ${FEW_PATCHES} patches; 4,7,10, scaled for other depths, with
                                   --select attention)
      --select <name>              which tokens leave: redundancy (default; the most redundant) or
                                   attention (the least attended: the paper's rule)
      --strategy <name>            adaptive-token (default), adaptive, merge or prune
      --metric <name>              similarity: hidden (default: the cosine of the token states),
                                   keys (of the head-mean keys) or keys-per-head (the mean over
                                   heads of each head's key cosine)
      --match <name>               with select redundancy, how tokens pair: nearest (each token's
                                   nearest neighbour) or bipartite (ToMe's split); default nearest
                                   on models with at most ${FEW_PATCHES} patches, bipartite on the others
      --tau <x[,x...]>             similarity threshold τ of adaptive and adaptive-token, one value
                                   or one per block (default ${DEFAULT_TAU}, ${DEFAULT_TAU_FEW_PATCHES} on models with at most ${FEW_PATCHES}
                                   patches; ${DEFAULT_TAU_KEYS} with a key metric; each measured on a development
                                   model: calibrate it where you can)
      --no-proportional-attention  do not add log(size) to the attention logits after a reduction
      --no-head-only               run the last block's MLP on every token (default: on the class
                                   token only, where the head reads nothing else)
      --heads <n>                  attention heads (read from config.json for a model folder;
                                   needed to compile a bare .onnx file)`;

export const COMPILE_USAGE = `Usage: jmp compile <model> --out <file> [options]

Writes <model> with JMP compiled into its ONNX graph: standard ONNX operators only (the model's opset, >= 11), one
file that runs in any ONNX Runtime without this package. Input pixel_values [batch, 3, H, W]; outputs
logits, and jmp_sigma_<k> and jmp_merged_<k> [batch] for each reduction k (0-based).

Options:
  -o, --out <file>                 where to write the compiled model (required)
${SCHEDULE_OPTIONS}
  -h, --help                       show this help

Example:
  jmp compile ./deit-small --out deit-small-jmp.onnx --keep 0.7 --blocks 4,7,10 --strategy adaptive-token --tau 0.9`;

export const INSPECT_USAGE = `Usage: jmp inspect <model> [options]

Shows the blocks found in <model> (architecture, depth, protected tokens, opset, dtype), the planned
token count of every block and the GMACs per image without and with JMP.

Options:
${SCHEDULE_OPTIONS}
      --json                       print the result as JSON
  -h, --help                       show this help

Example:
  jmp inspect ./deit-small --keep 0.6,0.7,0.8`;

export const CALIBRATE_USAGE = `Usage: jmp calibrate <model folder> <image folder> --out <plan.json> [options]

Label-free calibration (calibrateJMP): runs the model plain and with JMP at each candidate τ on the
images of <image folder> (PNG, JPEG, WebP, searched recursively), and keeps the τ whose output
probabilities stay closest to the plain model's (the lowest mean KL divergence, then top-1
agreement). No labels are read. The plan is plain JSON for enableJMP(pipe, { plan }) and for this
model file only.

Options:
  -o, --out <file>          where to write the plan (required)
      --budget <share>      share of the plain model's GMACs to spend, in (0, 1] (default ${DEFAULT_BUDGET})
      --taus <a:b:step>     candidate τ values (default ${TAU_GRID})
      --metric <name>       similarity the τ is for: hidden (the token states, the default),
                            keys or keys-per-head
      --match <name>        how tokens pair: nearest (the default on models with at most ${FEW_PATCHES}
                            patches) or bipartite (ToMe's split, the default on the others)
      --objective <name>    what chooses: kl (default) or agreement (top-1 agreement first, the
                            rule before 0.2)
      --limit <n>           use at most n images (default ${DEFAULT_CLI_CALIBRATION_IMAGES}; sorted by path)
      --dtype <fp32|fp16|q8>
      --batch <n>           images per forward (default ${DEFAULT_CALIBRATION_BATCH})
  -h, --help                show this help

Example:
  jmp calibrate ./deit-small ./my-photos --budget 0.65 --out deit-small-plan.json`;
