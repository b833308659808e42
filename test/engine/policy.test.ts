// The standard policy's parts on their own: the picker (rarest first, random first pieces, end-game,
// release on loss) and the choker (rate-ranked slots, anti-snubbing, optimistic, fair seeding).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Bitfield } from '../../datapath/storage/bitfield.js';
import { Picker, blockKey, type BlockRef, type PickPeer } from '../../datapath/swarm/picker.js';
import { decideChokes, type ChokeCandidate } from '../../datapath/swarm/choker.js';
import { RequestWindow, MAX_WINDOW, MIN_WINDOW } from '../../datapath/peer/request-window.js';

const PL = 64 * 1024; // 4 blocks per piece

function peerWith(pieces: number[] | 'all', outstanding = new Set<number>(), blameKey = 'p'): PickPeer {
  return { blameKey, hasPiece: (i) => pieces === 'all' || pieces.includes(i), isOutstanding: (k) => outstanding.has(k), outstandingCount: outstanding.size };
}

/** Piece 0 (four blocks) fetched half from A and half from B: the blocks' begins in request order, and what the last receive returned. */
function halvesFromAAndB(picker: Picker): { asked: number[]; last: ReturnType<Picker['receive']> } {
  const a: BlockRef[] = [];
  picker.pick(peerWith('all', new Set(), 'A'), 2, a);
  const b: BlockRef[] = [];
  picker.pick(peerWith('all', new Set(), 'B'), 2, b);
  for (const x of a) picker.receive(0, x.begin, x.length, 'A');
  let last: ReturnType<Picker['receive']> = null;
  for (const x of b) last = picker.receive(0, x.begin, x.length, 'B');
  return { asked: [...a, ...b].map((x) => x.begin), last };
}

describe('picker', () => {
  it('after the random first pieces, picks the rarest piece the peer has', () => {
    const have = new Bitfield(10);
    for (const i of [0, 1, 2, 3]) have.set(i); // past the random phase
    const picker = new Picker(have, PL, PL);
    const common = new Bitfield(10);
    common.setAll();
    picker.addAvailability(common, 1);
    picker.addAvailability(common, 1);
    picker.addHave(7, -1); // piece 7 is the rarest
    const out: BlockRef[] = [];
    picker.pick(peerWith('all'), 4, out);
    expect(out.map((b) => b.index)).toEqual([7, 7, 7, 7]);
    expect(out.map((b) => b.begin)).toEqual([0, 16384, 32768, 49152]);
  });

  it('finishes started pieces before starting new ones, and never picks what the peer lacks', () => {
    const have = new Bitfield(8);
    const picker = new Picker(have, PL, PL);
    const a: BlockRef[] = [];
    picker.pick(peerWith([5]), 2, a);
    expect(a.map((b) => [b.index, b.begin])).toEqual([[5, 0], [5, 16384]]);
    const b: BlockRef[] = [];
    picker.pick(peerWith([2, 5]), 3, b);
    expect(b[0]).toEqual({ index: 5, begin: 32768, length: 16384 });
    expect(b[1]).toEqual({ index: 5, begin: 49152, length: 16384 });
    expect(b[2]!.index).toBe(2);
    const c: BlockRef[] = [];
    picker.pick(peerWith([6]), 10, c);
    expect(c.every((x) => x.index === 6)).toBe(true);
  });

  it('completes a piece, handles the short last piece, and enters end-game with duplicates', () => {
    const have = new Bitfield(2);
    const picker = new Picker(have, PL, 20_000); // last piece: 2 blocks (16384 + 3616)
    const p1: BlockRef[] = [];
    picker.pick(peerWith('all'), 100, p1);
    expect(p1.length).toBe(6);
    expect(p1.find((b) => b.index === 1 && b.begin === 16384)?.length).toBe(3616);
    // Another peer has nothing fresh left: end-game gives it duplicates of blocks still in flight.
    const p2: BlockRef[] = [];
    picker.pick(peerWith('all', new Set([blockKey(0, 0)])), 100, p2);
    expect(picker.inEndgame).toBe(true);
    // Duplicates of blocks in flight elsewhere, never of its own, and at most 4 requests in all.
    expect(p2.length).toBe(3);
    expect(p2.some((b) => b.index === 0 && b.begin === 0)).toBe(false);
    const busy: BlockRef[] = [];
    picker.pick(peerWith("all", new Set([1, 2, 3, 4].map((k) => blockKey(9, k * 16384)))), 100, busy);
    expect(busy.length).toBe(0);
    // A third asker gets the blocks still asked of one peer only; a fourth gets nothing (2 askers max).
    const p3: BlockRef[] = [];
    picker.pick(peerWith('all'), 100, p3);
    expect(p3.length).toBe(3);
    const p4: BlockRef[] = [];
    picker.pick(peerWith('all'), 100, p4);
    expect(p4.length).toBe(0);
    // Piece 1 is 20 000 bytes: a whole block and a short last one; a wrong length is not the block.
    expect(picker.receive(1, 0, 16384, 'x')).toBeNull();
    expect(picker.receive(1, 0, 16384, 'y')).toBe('dup');
    expect(picker.receive(1, 16384, 16384, 'y')).toBe('dup');
    const done = picker.receive(1, 16384, 20_000 - 16384, 'y');
    expect(done).not.toBe('dup');
    expect(done && done !== 'dup' && done.index === 1 && done.length === 20_000).toBe(true);
    expect(done && done !== 'dup' && [...done.contributors]).toEqual(['x', 'y']);
  });

  it('a piece that failed with blocks from several peers is fetched again from one peer alone', () => {
    const have = new Bitfield(1);
    let nowUs = 0;
    const picker = new Picker(have, PL, PL, () => nowUs);
    const { asked, last } = halvesFromAAndB(picker);
    expect(asked).toEqual([0, 16384, 32768, 49152]);
    let done: ReturnType<Picker['receive']> = last;
    expect(done && done !== 'dup' && done.senders).toEqual(['A', 'A', 'B', 'B']);
    picker.finished(0, false);
    picker.retryFromOnePeer(0);
    // The retry: A takes two blocks and owns the piece; B is given nothing of it, not even in end-game.
    const a2: BlockRef[] = [];
    picker.pick(peerWith('all', new Set(), 'A'), 2, a2);
    expect(a2.length).toBe(2);
    const b2: BlockRef[] = [];
    picker.pick(peerWith('all', new Set(), 'B'), 4, b2);
    expect(b2).toEqual([]);
    // A block from B anyway (an old request) is not taken; A finishes the piece.
    expect(picker.receive(0, 32768, 16384, 'B')).toBe('dup');
    const a3: BlockRef[] = [];
    picker.pick(peerWith('all', new Set(a2.map((x) => blockKey(x.index, x.begin))), 'A'), 4, a3);
    expect(a3.map((x) => x.begin)).toEqual([32768, 49152]);
    // A gives up (leaves, stalls, rejects): B may take over what is left, and A is barred from it.
    for (const x of a2) picker.receive(0, x.begin, x.length, 'A');
    picker.release(0, 32768);
    picker.release(0, 49152);
    picker.disown('A');
    const a4: BlockRef[] = [];
    picker.pick(peerWith('all', new Set(), 'A'), 4, a4);
    expect(a4).toEqual([]);
    nowUs += 31_000_000; // the bar lapses (30 s); A could own it again were it free
    const a5: BlockRef[] = [];
    picker.pick(peerWith('all', new Set(), 'A'), 4, a5);
    expect(a5.map((x) => x.begin)).toEqual([32768, 49152]);
    picker.release(0, 32768);
    picker.release(0, 49152);
    picker.disown('A');
    const b3: BlockRef[] = [];
    picker.pick(peerWith('all', new Set(), 'B'), 4, b3);
    expect(b3.map((x) => x.begin)).toEqual([32768, 49152]);
    for (const x of b3) done = picker.receive(0, x.begin, x.length, 'B');
    expect(done && done !== 'dup' && done.exclusive).toBe(true);
    // Once it passed, the piece carries no exclusivity into a later attempt (e.g. a recheck).
    picker.finished(0, true);
    picker.pick(peerWith('all', new Set(), 'A'), 1, []);
    expect(picker.partial.get(0)?.exclusive).toBe(false);
  });

  it('an exclusive piece every holder gave up is freed at once, not after the 30 s bar', () => {
    const have = new Bitfield(1);
    const picker = new Picker(have, PL, PL, () => 1_000_000);
    halvesFromAAndB(picker);
    picker.finished(0, false);
    picker.retryFromOnePeer(0);
    const giveUp = (key: string): void => {
      const got: BlockRef[] = [];
      picker.pick(peerWith('all', new Set(), key), 4, got);
      expect(got.length).toBeGreaterThan(0); // it owns the piece now
      for (const x of got) picker.release(0, x.begin);
      picker.disown(key);
    };
    giveUp('A');
    // B may still take it, so nothing is lifted.
    expect(picker.liftDeadBars(() => ['A', 'B'])).toEqual([]);
    giveUp('B');
    const none: BlockRef[] = [];
    picker.pick(peerWith('all', new Set(), 'A'), 4, none);
    expect(none).toEqual([]);
    // With no holder connected nothing is lifted either (a newcomer may take it).
    expect(picker.liftDeadBars(() => [])).toEqual([]);
    // Both holders barred: the bars go, and A may own the piece again without waiting 30 s.
    expect(picker.liftDeadBars(() => ['A', 'B'])).toEqual([0]);
    const again: BlockRef[] = [];
    picker.pick(peerWith('all', new Set(), 'A'), 4, again);
    expect(again.map((x) => x.begin)).toEqual([0, 16384, 32768, 49152]);
    expect(picker.partial.get(0)?.exclusive).toBe(true);
    const other: BlockRef[] = [];
    picker.pick(peerWith('all', new Set(), 'B'), 4, other);
    expect(other).toEqual([]); // still one peer at a time
  });

  it('released blocks (choke, reject, timeout) are picked again', () => {
    const picker = new Picker(new Bitfield(1), PL, PL);
    const a: BlockRef[] = [];
    picker.pick(peerWith('all'), 4, a);
    picker.release(0, 16384);
    const b: BlockRef[] = [];
    picker.pick(peerWith('all', new Set(a.map((x) => blockKey(x.index, x.begin)))), 4, b);
    expect(b).toEqual([{ index: 0, begin: 16384, length: 16384 }]);
  });

  it('random pick/receive/release sequences never request a held block nor lose one', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 8 })), { maxLength: 60 }), (ops) => {
        const have = new Bitfield(5);
        const picker = new Picker(have, PL, 30_000);
        const inflight: BlockRef[] = [];
        for (const [op, n] of ops) {
          if (op === 0) {
            const out: BlockRef[] = [];
            picker.pick(peerWith('all', new Set(inflight.map((b) => blockKey(b.index, b.begin)))), n, out);
            for (const b of out) expect(have.get(b.index)).toBe(false);
            inflight.push(...out);
          } else if (op === 1 && inflight.length > 0) {
            const b = inflight.splice(n % inflight.length, 1)[0]!;
            const r = picker.receive(b.index, b.begin, b.length, 'p');
            if (r && r !== 'dup') {
              have.set(r.index);
              picker.finished(r.index, true);
            }
          } else if (inflight.length > 0) {
            const b = inflight.splice(n % inflight.length, 1)[0]!;
            picker.release(b.index, b.begin);
          }
        }
        // Drain: one peer can always finish the torrent from here.
        for (let round = 0; round < 100 && !have.complete(); round++) {
          const out: BlockRef[] = [];
          picker.pick(peerWith('all'), 100, out);
          for (const b of [...inflight.splice(0), ...out]) {
            const r = picker.receive(b.index, b.begin, b.length, 'p');
            if (r && r !== 'dup') {
              have.set(r.index);
              picker.finished(r.index, true);
            }
          }
        }
        expect(have.complete()).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('with several peers, hash failures, exclusive retries and peers giving up, any peer can still finish once bars lapse', () => {
    const PEERS = ['a', 'b', 'c'];
    fc.assert(
      fc.property(
        // Pieces of two blocks and picks of one or two blocks, so pieces often mix peers (and then fail).
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.boolean()), { minLength: 40, maxLength: 160 }),
        fc.integer({ min: 0, max: 2 }),
        (ops, finisher) => {
          const have = new Bitfield(5);
          let nowUs = 0;
          const picker = new Picker(have, 2 * 16384, 20_000, () => nowUs);
          const inflight: { peer: string; b: BlockRef }[] = [];
          const settle = (r: ReturnType<Picker['receive']>, passes: boolean): void => {
            if (!r || r === 'dup') return;
            if (passes) {
              have.set(r.index);
              picker.finished(r.index, true);
              return;
            }
            picker.finished(r.index, false);
            if (r.contributors.size > 1) picker.retryFromOnePeer(r.index);
          };
          for (const [op, who, n, passes] of ops) {
            const peer = PEERS[who]!;
            nowUs += 1_000_000;
            if (op <= 3) {
              const out: BlockRef[] = [];
              const mine = new Set(inflight.filter((x) => x.peer === peer).map((x) => blockKey(x.b.index, x.b.begin)));
              const ownersBefore = new Map([...picker.partial.values()].filter((x) => x.exclusive).map((x) => [x.index, x.owner]));
              picker.pick(peerWith('all', mine, peer), n, out);
              for (const b of out) {
                expect(have.get(b.index)).toBe(false);
                // An exclusive piece that belongs to another peer is never asked of this one.
                const owner = ownersBefore.get(b.index);
                if (owner) expect(owner).toBe(peer);
              }
              inflight.push(...out.map((b) => ({ peer, b })));
            } else if (op <= 7 && inflight.length > 0) {
              const { peer: from, b } = inflight.splice(n % inflight.length, 1)[0]!;
              settle(picker.receive(b.index, b.begin, b.length, from), passes);
            } else if (op === 8 && inflight.length > 0) {
              const { b } = inflight.splice(n % inflight.length, 1)[0]!;
              picker.release(b.index, b.begin);
            } else if (op === 9) {
              // The peer gives up: its requests come back and it is disowned.
              for (let i = inflight.length - 1; i >= 0; i--) {
                if (inflight[i]!.peer !== peer) continue;
                const { b } = inflight.splice(i, 1)[0]!;
                picker.release(b.index, b.begin);
              }
              picker.disown(peer);
            }
          }
          // Every other peer leaves; once the bars lapse, the remaining one finishes alone.
          const last = PEERS[finisher]!;
          for (const x of inflight.splice(0)) picker.release(x.b.index, x.b.begin);
          for (const p of PEERS) if (p !== last) picker.disown(p);
          nowUs += 31_000_000;
          for (let round = 0; round < 100 && !have.complete(); round++) {
            const out: BlockRef[] = [];
            picker.pick(peerWith('all', new Set(), last), 100, out);
            for (const b of out) settle(picker.receive(b.index, b.begin, b.length, last), true);
          }
          expect(have.complete()).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

const cand = (key: number, over: Partial<ChokeCandidate> = {}): ChokeCandidate => ({ key, interested: true, snubbed: false, rateIn: 0, bytesSent: 0, ...over });

describe('choker', () => {
  it('leeching: the fastest uploaders to us get the slots, snubbers do not, plus one optimistic', () => {
    const peers = [cand(1, { rateIn: 10 }), cand(2, { rateIn: 50 }), cand(3, { rateIn: 40 }), cand(4, { rateIn: 90, snubbed: true }),
      cand(5, { rateIn: 30 }), cand(6, { rateIn: 20 }), cand(7, { rateIn: 99, interested: false })];
    const d = decideChokes(peers, { slots: 3, seeding: false, optimistic: null, random: () => 0 });
    expect([...d.unchoke].filter((k) => k !== d.optimistic).sort()).toEqual([2, 3, 5]);
    expect(d.optimistic).not.toBeNull();
    expect([2, 3, 5, 7]).not.toContain(d.optimistic);
    expect(d.unchoke.size).toBe(4);
  });

  it('keeps the optimistic peer between rotations while it stays interested', () => {
    const peers = [cand(1, { rateIn: 5 }), cand(2), cand(3)];
    const d = decideChokes(peers, { slots: 1, seeding: false, optimistic: 3 });
    expect(d.optimistic).toBe(3);
    expect(d.unchoke).toEqual(new Set([1, 3]));
  });

  it('seeding: the least-served interested peers get the slots (a fair share over time)', () => {
    const peers = [cand(1, { bytesSent: 900 }), cand(2, { bytesSent: 100 }), cand(3, { bytesSent: 500 }), cand(4, { bytesSent: 0 })];
    const d = decideChokes(peers, { slots: 2, seeding: true, optimistic: null, random: () => 0.99 });
    expect([...d.unchoke].filter((k) => k !== d.optimistic).sort()).toEqual([2, 4]);
  });
});

describe('request window', () => {
  it('grows in slow start, then follows rate × queue time within bounds', () => {
    const w = new RequestWindow();
    expect(w.size(0, false, 250)).toBe(8);
    for (let i = 0; i < 5; i++) w.onBlocks(1);
    w.onBlocks(15); // one read's worth at once
    expect(w.size(0, false, 250)).toBe(28);
    const full = new RequestWindow();
    full.onBlocks(10_000);
    expect(full.size(0, false, 1000)).toBe(MAX_WINDOW);
    w.onTick(1e6);
    w.onTick(1e6); // no growth: slow start ends
    expect(w.size(0, false, 250)).toBe(MIN_WINDOW);
    expect(w.size(1e6, false, 250)).toBe(Math.ceil((1e6 * 2) / 16384));
    expect(w.size(1e9, false, 250)).toBe(MAX_WINDOW);
    expect(w.size(1e9, false, 20)).toBe(20);
    expect(w.size(1e9, true, 250)).toBe(1);
  });
});
