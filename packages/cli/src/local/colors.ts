// ANSI colours for prefixed log lines; none when the output is not a terminal or NO_COLOR is set
// (https://no-color.org).
const CODES = [36, 33, 35, 32, 34, 31];

export function colorizer(stream: NodeJS.WriteStream): (text: string, index: number) => string {
  const on = stream.isTTY === true && !process.env.NO_COLOR;
  return (text, index) => (on ? `\u001b[${CODES[index % CODES.length]}m${text}\u001b[0m` : text);
}
