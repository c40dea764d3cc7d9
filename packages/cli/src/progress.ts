// A one-line progress bar on stderr for large uploads (only on a terminal).
export function progressBar(
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
): { update(done: number): void; end(): void } {
  const on = stream.isTTY === true && total >= 8 * 1024 * 1024;
  const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
  return {
    update(done) {
      if (!on) return;
      const width = 30;
      const filled = Math.round((done / total) * width);
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${mib(done)}/${mib(total)} MiB`);
    },
    end() {
      if (on) stream.write('\n');
    },
  };
}
