import assert from 'node:assert/strict';
import type { OutgoingTransport } from '../../src/media/media-types.ts';
import { RtpView } from '../../src/rtp/rtp-packet.ts';

/**
 * The subscriber's side of the wire, in process: what a consumer sends is parsed (it must parse) and kept
 * as `capture` makes it of the packet, a copy that outlives the consumer's buffer. Writes the transport-wide
 * sequence number as the paced sender does when a packet leaves.
 */
export class CapturingTransport<T> implements OutgoingTransport {
  connected = true;
  rttMs = -1;
  lossy = false;
  redWanted = false;
  readonly sent: T[] = [];
  private tseq = 0;

  constructor(private readonly capture: (v: RtpView) => T) {}

  nextTransportSeq(): number {
    return this.tseq++ & 0xffff;
  }

  sendProbe(buf: Buffer, length: number, tccOffset: number): boolean {
    return this.sendRtp(buf, length, 0, tccOffset);
  }

  sendRtp(buf: Buffer, length: number, _priority: number, tccOffset: number): boolean {
    if (tccOffset >= 0) buf.writeUInt16BE(this.nextTransportSeq(), tccOffset);
    const v = new RtpView();
    assert.equal(v.parse(Buffer.from(buf.subarray(0, length))), null, 'consumer output parses');
    this.sent.push(this.capture(v));
    return true;
  }

  sendRtcp(): boolean {
    return true;
  }
}

/** The payload of a parsed packet, copied. */
export const payloadOf = (v: RtpView): Buffer => Buffer.from(v.buf.subarray(v.payloadOffset, v.payloadOffset + v.payloadLength));
