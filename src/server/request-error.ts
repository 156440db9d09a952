/** A failed request, carried to the signaling layer as a typed error message. */
export class RequestError extends Error {
  constructor(
    readonly code: 'sdp_rejected' | 'unknown_publisher' | 'unknown_track' | 'bad_request' | 'forbidden' | 'bad_move' | 'internal',
    message: string,
  ) {
    super(message);
  }
}
