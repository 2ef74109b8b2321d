// Types of herald.js, the browser client of the herald.v1 protocol.

export type Transport = 'websocket' | 'sse' | 'poll';

export type State =
  | 'connecting'   // the first attempt
  | 'open'         // the server said welcome; messages flow
  | 'reconnecting' // lost or refused; trying again (maybe another transport)
  | 'offline'      // the browser is offline; resumes when it is back
  | 'closed';      // close() was called, or a fixed token was refused

/** One message, as the server sends it on every transport. */
export interface Message {
  /** Per user, strictly increasing: the client's position. */
  seq: number;
  /** The message id (for markRead and the history). */
  id: number;
  template: string;
  channel: string;
  title: string;
  body: string;
  /** The variables the message was published with. */
  data: Record<string, unknown>;
  created_at: string;
}

/** A message of the user's history. */
export interface HistoryMessage extends Message {
  state: 'pending' | 'sent' | 'acked' | 'read' | string;
  read_at: string | null;
}

export interface HistoryPage {
  messages: HistoryMessage[];
  /** The user's unread web messages, all pages together. */
  unread: number;
  /** Pass as `before` for the next (older) page; null on the last page. */
  next_before: number | null;
}

export interface HeraldError {
  code: string;
  message?: string;
}

/** A user token, or what fetches one (called again before it expires). */
export type TokenSource =
  | string
  | (() => Promise<string | { token: string; expires_at?: number }>);

export interface Options {
  /** The user's HS256 token, or a function that fetches a fresh one. */
  token: TokenSource;
  /** Transports to try, best first. Default: websocket, sse, poll. */
  transports?: Transport[];
  /** Where the last seq is kept per app and user; null keeps it in memory. Default: localStorage. */
  storage?: Pick<Storage, 'getItem' | 'setItem'> | null;
  /** Resume after this seq when storage knows nothing better (e.g. the newest seq of a history page already shown). */
  lastSeq?: number;
  /** Reconnect backoff bounds in ms (jittered, doubling). Default 500 and 30000. */
  minDelay?: number;
  maxDelay?: number;
  /** A transport without a welcome after this many ms counts as blocked. Default 8000. */
  openTimeout?: number;
  /** On a fallback transport, try the better one after this many ms. Default 60000. */
  upgradeAfter?: number;
  /** Seconds a long-poll waits on the server. Default 25. */
  pollWait?: number;
}

export interface Events {
  message: Message;
  state: { state: State; transport: Transport | null };
  error: HeraldError;
}

export interface Client {
  readonly state: State;
  readonly transport: Transport | null;
  /** The token's subject. */
  readonly user: string | null;
  /** The last seq passed to 'message' listeners (and acknowledged). */
  readonly lastSeq: number;
  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof Events>(type: K, fn: (event: Events[K]) => void): () => void;
  /** Stops every connection and timer. */
  close(): void;
  /** GET /v1/me/messages: the user's history, newest first. */
  history(page?: { limit?: number; before?: number; unread?: boolean }): Promise<HistoryPage>;
  /** POST /v1/me/messages/{id}/read. */
  markRead(id: number): Promise<{ id: number; read_at: string }>;
}

/** Connects to heraldd at `url` (e.g. location.origin) and keeps connected until close(). */
export function connect(url: string, options: Options): Client;
