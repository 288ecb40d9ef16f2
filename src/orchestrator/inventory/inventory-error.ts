/** A malformed inventory: names the file and the line. */
export class InventoryError extends Error {
  readonly code = 'ERR_FLEET_INVENTORY';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = 'InventoryError';
  }
}
