// One announce to any tracker URL, by scheme.
import { announceHttp } from './http.js';
import { announceUdp } from './udp.js';
import { TrackerError } from './tracker-error.js';
import type { AnnounceOptions, AnnounceRequest, AnnounceResponse } from './types.js';

export interface TransportOptions { http?: AnnounceOptions; udp?: AnnounceOptions }

export function isSupportedTrackerUrl(url: string): boolean {
  return /^(https?|udp):\/\//i.test(url);
}

export function announceOnce(url: string, req: AnnounceRequest, opts: TransportOptions = {}, signal?: AbortSignal): Promise<AnnounceResponse> {
  const scheme = /^([a-z]+):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') return announceHttp(url, req, { ...opts.http, signal });
  if (scheme === 'udp') return announceUdp(url, req, { ...opts.udp, signal });
  return Promise.reject(new TrackerError(`unsupported tracker URL '${url}'`));
}
