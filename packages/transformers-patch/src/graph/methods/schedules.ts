// Default block lists the methods share.

/** 4, 7 and 10 for 12 blocks, scaled for other depths: the paper's schedule (JMP with select 'attention', EViT). */
export function scaledBlocks(depth: number): number[] {
  return [...new Set([4, 7, 10].map((b) => Math.max(1, Math.min(depth, Math.round((b * depth) / 12)))))];
}

/** With headOnly the last block's MLP runs on the protected tokens anyway: no reduction there (unless it is the only block). */
export function leaveOutLast(blocks: number[], depth: number, headOnly: boolean): number[] {
  return headOnly && blocks.length > 1 ? blocks.filter((b) => b < depth) : blocks;
}
