/**
 * When each payload left its publisher, so that a receiver in the same process can measure end-to-end
 * delay through any SFU without help from the SFU: payload bytes cross an SFU unchanged (headers, SSRCs,
 * sequence numbers and timestamps do not), so a payload's tail identifies it. Two generations of maps
 * swapped every `keepMs` bound the memory without per-entry bookkeeping.
 */
export class SendLog {
  private current = new Map<number, number>();
  private previous = new Map<number, number>();
  private swappedAt = 0;

  constructor(private readonly keepMs = 5000) {}

  record(buf: Buffer, offset: number, length: number, nowMs: number): void {
    const k = payloadKey(buf, offset, length);
    if (k < 0) return;
    if (nowMs - this.swappedAt >= this.keepMs) {
      this.previous = this.current;
      this.current = new Map();
      this.swappedAt = nowMs;
    }
    this.current.set(k, nowMs);
  }

  /** Send time of the payload, or -1 if it was not logged (or too long ago). */
  sentAt(buf: Buffer, offset: number, length: number): number {
    const k = payloadKey(buf, offset, length);
    if (k < 0) return -1;
    return this.current.get(k) ?? this.previous.get(k) ?? -1;
  }
}

/** 40 bits of the payload's last 5 bytes and 11 bits of its length: < 2^53, so an exact number key. */
export function payloadKey(buf: Buffer, offset: number, length: number): number {
  if (length < 5) return -1;
  return buf.readUIntBE(offset + length - 5, 5) * 2048 + (length & 2047);
}
