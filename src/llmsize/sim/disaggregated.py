"""The twin of a disaggregated deployment: a prefill pool, the KV cache's hand-over, a decode
pool — one event loop over both, so that each holds the other back as the engines do.

A request is prefilled by the prefill pool (its replicas run prompts only: there it ends with
its first token). Its KV cache stays in that replica's memory, and the request goes on to the
decode pool, whose replica pulls the KV cache when its scheduler admits the request — when it
has room for it in its cache and its batch, as vLLM's NIXL connector and SGLang's and
TensorRT-LLM's transfer agents allocate before they pull. The pull takes `transfer_s(tokens)`;
then the request resumes with its last prompt token (one token attending to the whole prompt,
the decode step that emits its next) and decodes in steps that carry decode only. Until the
pull lands, the prompt's KV cache takes room in the prefill replica: a decode pool that cannot
keep up fills the prefill replicas' memory, and they stop taking new prompts (backpressure),
so its queue shows in the first tokens, as it does on real deployments.

The client's first token is the prefill replica's, delivered when its KV cache has crossed
(the decode side streams the answer), or, where the engine's client gets it from the decode
worker (vLLM's NIXL flow), that replica's first step's; its last is the decode pool's.

A shared prefix (the use case's prefix_cache) is cached by each prefill replica as the
aggregated twin caches it (a request that finds it prefills only the rest), and by each decode
replica: a request that shares it pulls only the rest of its KV cache, and the decode replica
holds the prefix once for all (it pulls it with the first such request). The prefix counters
are the prefill pool's, over the measured requests.

Sessions: each turn is a request of its own; the next is sent once the last has ended and its
think time passed, and goes to the prefill replica that served the session before (its
prompts are cached there). That replica never computed the last answer (the decode pool did;
the earlier ones it computed when they came back inside the previous turn's prompt), so a turn
finds its history cached up to its previous question, prefills the last answer again, and its
decode replica pulls the whole prompt but the shared prefix: disaggregation gives up part of
the history reuse an aggregated replica has. A closed loop (a benchmark's fixed concurrency) is
run the same way: each client sends its next request the moment its last one has ended.
"""

from __future__ import annotations

import heapq
import random
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from llmsize.sim.engine import INF, Arrival, Outcome, Request, Simulation
from llmsize.sim.run import SHARED_KEY, Traffic, TwinSetup, open_loop, sessions_of


def run_disaggregated(
    prefill: TwinSetup,
    decode: TwinSetup,
    traffic: Traffic,
    transfer_s: Callable[[int], float],
    first_from_decode: bool = False,
) -> Outcome:
    """One seeded run of both pools (Poisson arrivals, a trace, sessions, or a closed loop of
    `traffic.concurrency` clients, each sending its next request when its last has ended); the
    Outcome of the measured requests as a client sees them (occupancy: the decode pool's).
    `first_from_decode`: the client's first token is the decode replica's first step's (the
    prefill's sampled token recomputed there, as vLLM's NIXL flow does), not the prefill pool's
    delivered once its KV cache has crossed."""
    rng = random.Random(traffic.seed)
    next_turn: Callable[[object, float], Arrival | None] | None = None
    if traffic.concurrency is not None:
        arrivals, next_turn = _closed_loop(traffic, rng)
    elif traffic.sessions is not None:
        arrivals, next_turn = sessions_of(traffic, rng)
    else:
        arrivals = open_loop(traffic, rng)
    # the decode pool's front end is the router's hand-off, not a client's request
    decoding = replace(
        decode, prefix_caching=True, params=replace(decode.params, request_overhead_ms=0.0)
    )
    loop = _Coupled(
        prefill.simulation(),
        decoding.simulation(),
        transfer_s,
        first_from_decode,
        traffic.warmup,
        prefill.params.request_overhead_ms * 1e-3,
        next_turn,
        sticky=traffic.sessions is not None,
    )
    return loop.run(arrivals)


def _closed_loop(
    traffic: Traffic, rng: random.Random
) -> tuple[Iterator[Arrival], Callable[[object, float], Arrival | None]]:
    """`traffic.concurrency` clients that start at once, each sending its next request the
    moment its last one ends, `traffic.requests` in all: as sessions whose every turn is a
    request of its own (a client is its session)."""
    assert traffic.concurrency is not None
    lengths = traffic.requests_of(rng)
    clients = min(traffic.concurrency, traffic.requests)
    sent = clients

    def one(client: int, at: float) -> Arrival:
        prompt, output, segments = lengths()
        return at, prompt, output, segments, None, client

    def next_turn(client: object, now: float) -> Arrival | None:
        nonlocal sent
        if sent >= traffic.requests:
            return None
        assert isinstance(client, int)
        sent += 1
        return one(client, now)

    return (one(c, 0.0) for c in range(clients)), next_turn


@dataclass(slots=True)
class _Sent:
    """What the prefill pool does not carry of a request: its answer's length and session."""

    output: int
    session: object
    shared: int  # tokens of the use case's shared prefix it opens with (0: none)


class _Coupled:
    """Both pools' events in time order: arrivals and session turns, the pulls landing, the
    prefill pool's steps, the decode pool's steps (ties in that order)."""

    def __init__(
        self,
        prefill: Simulation,
        decode: Simulation,
        transfer_s: Callable[[int], float],
        first_from_decode: bool,
        warmup: int,
        delay: float,
        next_turn: Callable[[object, float], Arrival | None] | None,
        sticky: bool = False,
    ) -> None:
        self.prefill, self.decode = prefill, decode
        self.sticky = sticky  # a session's turns keep to one prefill replica
        self.transfer_s = transfer_s
        self.first_from_decode = first_from_decode
        self.warmup, self.delay = warmup, delay
        self.sent: dict[int, _Sent] = {}
        self.held: dict[int, tuple[Request, int]] = {}  # rid -> (its prefill request, tokens)
        self.pulls: list[tuple[float, int, Request]] = []  # (lands, rid, decode request)
        self.turns: list[tuple[float, int, Arrival]] = []  # (sent, tick, arrival)
        self.tick = 0
        self.first: dict[int, float] = {}
        self.ended: dict[int, tuple[float, float, int]] = {}  # rid -> (arrival, end, output)
        self.first_arrival = INF
        self.rejected = 0
        self.next_turn = next_turn  # a session's or client's next request once one ends
        decode.pull = self._pull

    def _pull(self, request: Request, tokens: int, now: float) -> None:
        heapq.heappush(self.pulls, (now + self.transfer_s(tokens), request.rid, request))

    def run(self, arrivals: Iterator[Arrival]) -> Outcome:
        prefill, decode, pulls, turns = self.prefill, self.decode, self.pulls, self.turns
        source = iter(arrivals)
        upcoming = next(source, None)
        rid = 0
        now = 0.0
        while True:
            t_arrival = upcoming[0] + self.delay if upcoming is not None else INF
            from_turns = bool(turns) and turns[0][0] + self.delay < t_arrival
            if from_turns:
                t_arrival = turns[0][0] + self.delay
            t_pull = pulls[0][0] if pulls else INF
            t_prefill, t_decode = prefill.next_event(), decode.next_event()
            if t_arrival <= t_pull and t_arrival <= t_prefill and t_arrival <= t_decode:
                if t_arrival == INF:
                    break  # nothing is pending anywhere
                now = t_arrival
                if from_turns:
                    arrival = heapq.heappop(turns)[2]
                else:
                    assert upcoming is not None
                    arrival = upcoming
                    upcoming = next(source, None)
                self._send(rid, arrival, now)
                rid += 1
            elif t_pull <= t_prefill and t_pull <= t_decode:
                now, _, request = heapq.heappop(pulls)
                decode.pulled(request, now)
                source_request, tokens = self.held.pop(request.rid)
                prefill.release(source_request, tokens, now)
                if not self.first_from_decode:
                    self.first[request.rid] = now
            elif t_prefill <= t_decode:
                now, replica, done = prefill.advance()
                for request in done:
                    self._prefilled(request, now)
                prefill.plan(replica, now)
            else:
                now, replica, done = decode.advance()
                for request in done:
                    if self.first_from_decode:
                        self.first[request.rid] = request.first
                    self._end(request.rid, request.arrival, now)
                decode.plan(replica, now)
        return self._outcome(now)

    def _send(self, rid: int, arrival: Arrival, now: float) -> None:
        """A client's request reaches the prefill pool (its prompt only: one token)."""
        _, prompt, output, segments, _, session = arrival
        shared = sum(tokens for key, tokens in segments if key == SHARED_KEY)
        self.sent[rid] = _Sent(output, session, shared)
        sent_at = now - self.delay
        self.first_arrival = min(self.first_arrival, sent_at)
        kept = session if self.sticky else None  # a closed loop's client is no session
        request = Request(rid, sent_at, prompt, 1, -1, rid >= self.warmup, segments, None, kept)
        if not self.prefill.arrive(request, now):
            self.rejected += 1  # its prompt never fits a prefill replica
            self._follow(self.sent.pop(rid), now)  # the client moves on

    def _prefilled(self, request: Request, now: float) -> None:
        """A prompt's first token: the request goes on to the decode pool, its KV cache held
        in the prefill replica until the decode replica pulls it."""
        sent = self.sent[request.rid]
        if sent.output == 1 and not self.first_from_decode:
            self.first[request.rid] = now
            self._end(request.rid, request.arrival, now)
            return
        own = request.prompt - sent.shared  # a shared prefix stays in both pools' caches
        left = sent.output if self.first_from_decode else sent.output - 1
        segments = ((SHARED_KEY, sent.shared),) if sent.shared else ()
        handed = Request(
            request.rid, request.arrival, request.prompt, left, -1, request.measured, segments
        )
        handed.remote = True
        if not self.decode.arrive(handed, now):
            self.rejected += 1  # its prompt and answer never fit a decode replica
            self._follow(self.sent.pop(request.rid), now)
            return
        self.prefill.hold(request, own)
        self.held[request.rid] = (request, own)

    def _end(self, rid: int, arrival: float, now: float) -> None:
        sent = self.sent.pop(rid)
        self.ended[rid] = (arrival, now, sent.output)
        self._follow(sent, now)

    def _follow(self, sent: _Sent, now: float) -> None:
        """A request is over (answered or refused): its session's or client's next one."""
        if self.next_turn is None or sent.session is None:
            return
        follow = self.next_turn(sent.session, now)
        if follow is None:
            if self.sticky:
                self.prefill.forget(sent.session)
        else:
            self.tick += 1
            heapq.heappush(self.turns, (follow[0], self.tick, follow))

    def _outcome(self, now: float) -> Outcome:
        out_arrival: array[float] = array("d")
        out_first: array[float] = array("d")
        out_end: array[float] = array("d")
        out_output: array[int] = array("q")
        out_rid: array[int] = array("q")
        for rid in sorted(self.ended):
            if rid < self.warmup:
                continue
            arrival, end, output = self.ended[rid]
            out_arrival.append(arrival)
            out_first.append(self.first[rid])
            out_end.append(end)
            out_output.append(output)
            out_rid.append(rid)
        prefill, decode = self.prefill, self.decode
        return Outcome(
            out_arrival,
            out_first,
            out_end,
            out_output,
            prefill.preemptions + decode.preemptions,
            self.rejected,
            now,
            0.0 if self.first_arrival == INF else self.first_arrival,
            sum(r.batch_area for r in decode.replicas),
            sum(r.queue_area for r in prefill.replicas)
            + sum(r.queue_area for r in decode.replicas),
            len(decode.replicas),
            prefill.prefix_lookups,
            prefill.prefix_hits,
            prefill.cached_tokens,
            prefill.prompt_tokens,
            rids=out_rid,
        )
