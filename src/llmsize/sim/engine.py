"""The event loop: arrivals, a router over replicas, and a continuous-batching scheduler per
replica, as vLLM and TensorRT-LLM run them.

One heap of replica events (time, sequence number, replica) with ties broken by the sequence
number, i.e. in the order events were scheduled. Arrivals (a pre-drawn open-loop schedule, or the
next request of a closed-loop client) are processed before replica events at the same time.

Per replica, each step decodes one token for every running sequence and may also prefill prompt
chunks of newly admitted requests (up to `max_step_tokens` tokens per step; with chunked prefill a
long prompt is split across steps, without it a prompt goes whole). A request is admitted while the
batch has room and its prompt fits in the free KV cache; when decoding outgrows the cache, the
youngest running request is preempted (recomputed later: its prompt and generated tokens are
prefilled again). Steps that only decode are taken in stretches: until the next request finishes,
the cache fills, or an arrival routed to this replica interrupts at the next step boundary, so a
stretch of identical steps costs O(1), not one Python iteration per step.

A request reaches its replica's scheduler `request_overhead_ms` (the step model's parameter: the
engine's front end, tokenizing and HTTP, which holds no GPU) after it was sent, and its first token
counts from when it was sent, as the steady-state model has it.

With prefix caching (vLLM's automatic prefix caching, SGLang's radix cache, TensorRT-LLM's KV
block reuse), a request's prompt opens with segments (key, tokens): a shared system prompt, or
a trace's hash blocks. Each replica keeps the segments it computed; a request admitted later
skips the leading segments it finds there (at least its last prompt token is computed), and
holds them while it runs. A segment held by no running request stays cached until its room is
needed, and is then evicted least recently used first, before any request is preempted.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from llmsize.sim.steps import StepModel

INF = math.inf
PROGRESS_EVERY = 5000


@dataclass(frozen=True, slots=True)
class Scheduler:
    """A replica's batching limits (vLLM: max_num_seqs, max_num_batched_tokens)."""

    kv_capacity_tokens: int
    max_batch: int = 256
    max_step_tokens: int = 16384
    chunked_prefill: bool = False
    prefix_caching: bool = False
    tokens_per_step: float = 1.0  # speculative decoding: tokens a decode step yields on average
    fixed_tokens: int = 0
    """What each sequence the replica holds takes whatever its length (full windows of windowed
    layers, recurrent states), in tokens of the growing layers: charged while it is held, as
    vLLM's hybrid cache allocates a window's blocks per request, not for max_batch up front."""


Segments = tuple[tuple[int, int], ...]
"""A prompt's leading segments (key, tokens) that a prefix cache can hold."""

Arrival = tuple[float, int, int, Segments, "tuple[int, int] | None", object]
"""(send time, prompt, output, segments, tail, session): `tail` is a segment (key, tokens) the
replica caches when the request ends (its output, which the session's next turn repeats);
`session` is what `next_turn` is given to send the session's next request (None: none)."""


class Request:
    __slots__ = (
        "arrival",
        "cached",
        "client",
        "done_prefill",
        "epoch",
        "finish_step",
        "first",
        "generated",
        "join_step",
        "measured",
        "output",
        "pinned",
        "prompt",
        "remote",
        "replica",
        "rid",
        "segment_tokens",
        "segments",
        "session",
        "tail",
    )

    def __init__(
        self,
        rid: int,
        arrival: float,
        prompt: int,
        output: int,
        client: int,
        measured: bool,
        segments: Segments = (),
        tail: tuple[int, int] | None = None,
        session: object = None,
    ) -> None:
        self.rid = rid  # the order of arrival: breaks ties deterministically
        self.arrival = arrival
        self.prompt = prompt  # tokens to prefill (grows on preemption: prompt + generated)
        self.output = output
        self.client = client
        self.measured = measured
        self.done_prefill = 0
        self.generated = 0
        self.first = -1.0
        self.epoch = 0
        self.join_step = 0
        self.finish_step = 0
        self.replica = -1
        self.segments = segments
        self.segment_tokens = sum(tokens for _, tokens in segments) if segments else 0
        self.pinned = 0  # leading segments it holds in its replica's cache
        self.cached = 0  # prompt tokens it found cached when admitted
        self.tail = tail
        self.session = session
        self.remote = False  # disaggregated: its KV cache is on the prefill side, to be pulled


class Replica:
    __slots__ = (
        "active",
        "batch_area",
        "busy",
        "cache",
        "cache_tokens",
        "chunks",
        "context_sum",
        "event",
        "finishing",
        "handing",
        "index",
        "lru",
        "lru_tokens",
        "outstanding",
        "pending",
        "prefilling",
        "pulling",
        "queue_area",
        "queued",
        "running",
        "shared",
        "started",
        "step",
        "stretch",
        "waiting",
    )

    def __init__(self, index: int) -> None:
        self.index = index
        self.waiting: deque[Request] = deque()
        self.prefilling: list[Request] = []  # chunked prefill in progress, oldest first
        self.pending = 0  # KV tokens already written by prompts still being prefilled
        self.running: dict[int, Request] = {}  # in join order: the last is the youngest
        self.finishing: list[tuple[int, int, int, Request]] = []  # (finish step, id, epoch, req)
        self.context_sum = 0.0
        self.step = 0
        self.busy = False
        self.event = 0  # sequence number of the valid pending event
        self.stretch: tuple[float, int, float, float] | None = None  # (start, steps, a, b)
        self.chunks: list[tuple[Request, int]] = []  # prefill chunks of the step in progress
        self.outstanding = 0
        self.batch_area = 0.0
        self.queue_area = 0.0
        self.started = 0.0  # when the step or stretch under way began
        self.active = 0  # sequences it works on
        self.queued = 0  # requests waiting meanwhile
        self.cache: dict[int, list[int]] = {}  # prefix cache: key -> [tokens, holders]
        self.lru: OrderedDict[int, int] = OrderedDict()  # held by none: key -> tokens, oldest first
        self.cache_tokens = 0  # tokens of every cached segment
        self.lru_tokens = 0
        self.shared = 0  # tokens of running contexts that live in cached segments
        self.handing = 0  # disaggregated prefill: KV tokens of prompts the decode pool will pull
        self.pulling: list[Request] = []  # disaggregated decode: admitted, their KV crossing


@dataclass(slots=True)
class Outcome:
    """Per-request results (measured requests only) and run-wide counters."""

    arrival: array[float]
    first: array[float]
    end: array[float]
    output: array[int]
    preemptions: int
    rejected: int  # requests whose prompt and output can never fit in one replica's KV cache
    end_time: float
    first_arrival: float
    batch_area: float
    queue_area: float
    replicas: int
    prefix_lookups: int = 0  # measured requests whose prompt opens with cacheable segments
    prefix_hits: int = 0  # of those, the ones that found their first segment cached
    cached_tokens: int = 0  # prompt tokens measured requests found cached
    prompt_tokens: int = 0  # prompt tokens of measured requests
    rids: array[int] = field(default_factory=lambda: array("q"))  # each one's order of sending


class Simulation:
    """One run: `requests` requests from an open-loop schedule or `concurrency` closed-loop
    clients, over `replicas` identical replicas. The first `warmup` requests are not measured."""

    def __init__(
        self,
        steps: StepModel,
        scheduler: Scheduler,
        replicas: int,
        router: str = "round-robin",
    ) -> None:
        if router not in ("round-robin", "least-outstanding"):
            raise ValueError(f"unknown router {router!r}")
        self.steps = steps
        self.scheduler = scheduler
        self.replicas = [Replica(i) for i in range(replicas)]
        self.router = router
        self._rr = 0
        self._heap: list[tuple[float, int, int]] = []
        self._seq = 0
        self.preemptions = 0
        self.rejected = 0
        self._sticky: dict[int, int] = {}  # a session (its state's id) -> its replica
        self.prefix_lookups = 0
        self.prefix_hits = 0
        self.cached_tokens = 0
        self.prompt_tokens = 0
        # a disaggregated decode pool: called when a replica admits a request whose KV cache is
        # on the prefill side (request, tokens to pull, now); the caller lands it with `pulled`
        self.pull: Callable[[Request, int, float], None] | None = None

    # --- routing and events -------------------------------------------------------------------

    def _route(self, request: Request) -> Replica:
        """A session's turns go to the replica that served its first (where its history is
        cached), as session-aware routers keep them; other requests by the router's rule."""
        if request.session is not None:
            index = self._sticky.get(id(request.session))
            if index is not None:
                return self.replicas[index]
            replica = self._pick()
            self._sticky[id(request.session)] = replica.index
            return replica
        return self._pick()

    def forget(self, session: object) -> None:
        """A session is over: its turns no longer keep to one replica."""
        self._sticky.pop(id(session), None)

    def _pick(self) -> Replica:
        if self.router == "round-robin":
            replica = self.replicas[self._rr]
            self._rr = (self._rr + 1) % len(self.replicas)
            return replica
        return min(self.replicas, key=lambda r: (r.outstanding, r.index))

    def _schedule(self, replica: Replica, time: float) -> None:
        self._seq += 1
        replica.event = self._seq
        heapq.heappush(self._heap, (time, self._seq, replica.index))

    def arrive(self, request: Request, time: float) -> bool:
        """Route a request; False when it can never fit in a replica's KV cache."""
        cfg = self.scheduler
        if request.prompt + request.output + cfg.fixed_tokens > cfg.kv_capacity_tokens:
            self.rejected += 1
            return False
        replica = self._route(request)
        request.replica = replica.index
        replica.outstanding += 1
        replica.waiting.append(request)
        self._wake(replica, time)
        return True

    def _wake(self, replica: Replica, time: float) -> None:
        """Have an idle replica plan at `time`, or a decoding one at its next step boundary."""
        if not replica.busy:
            replica.busy = True
            self._schedule(replica, time)
        elif replica.stretch is not None:
            self._interrupt(replica, time)

    def next_event(self) -> float:
        """When the next replica event falls (stale ones dropped); INF: none is pending."""
        heap, replicas = self._heap, self.replicas
        while heap and heap[0][1] != replicas[heap[0][2]].event:
            heapq.heappop(heap)  # a stale event, superseded by an interruption
        return heap[0][0] if heap else INF

    def advance(self) -> tuple[float, Replica, list[Request]]:
        """Apply the next replica event (call after next_event): its time, its replica and the
        requests it finished. The caller then has the replica `plan` its next step."""
        now, _, index = heapq.heappop(self._heap)
        replica = self.replicas[index]
        done: list[Request] = []
        self._finish_work(replica, now, done)
        replica.outstanding -= len(done)
        return now, replica, done

    # --- disaggregated serving: the KV cache's hand-over ----------------------------------------

    def hold(self, request: Request, tokens: int) -> None:
        """A prefill replica keeps a finished prompt's KV cache until the decode pool pulls it:
        the room it takes holds new prompts back (backpressure)."""
        self.replicas[request.replica].handing += tokens

    def release(self, request: Request, tokens: int, now: float) -> None:
        """The decode pool has pulled a prompt's KV cache: its room is free again."""
        replica = self.replicas[request.replica]
        replica.handing -= tokens
        if replica.waiting:
            self._wake(replica, now)

    def pulled(self, request: Request, now: float) -> None:
        """A decode replica's pull has landed: the request resumes with its last prompt token
        (one token attending to the whole prompt, the decode step that emits its next)."""
        replica = self.replicas[request.replica]
        replica.pulling.remove(request)
        request.remote = False
        request.done_prefill = request.prompt - 1
        replica.prefilling.append(request)
        self._wake(replica, now)

    def _interrupt(self, replica: Replica, time: float) -> None:
        """Cut a decode stretch at the step boundary that follows `time` (the step under way
        finishes; the new request can join from the next one)."""
        assert replica.stretch is not None
        start, steps, a, b = replica.stretch
        elapsed = time - start
        if b > 1e-15:
            half = a - b / 2
            done = int((-half + math.sqrt(half * half + 2 * b * elapsed)) / b)
        else:
            done = int(elapsed / a)
        keep = min(steps, max(done + 1, 1))
        if keep < steps:
            replica.stretch = (start, keep, a, b)
            self._schedule(replica, start + a * keep + b * keep * (keep - 1) / 2)

    # --- a replica's step ---------------------------------------------------------------------

    def _finish_work(self, replica: Replica, now: float, done: list[Request]) -> None:
        """Apply the step or stretch that just ended at `now`."""
        elapsed = now - replica.started
        replica.batch_area += replica.active * elapsed
        replica.queue_area += replica.queued * elapsed
        replica.started, replica.active, replica.queued = now, 0, 0
        if replica.stretch is not None:
            steps = replica.stretch[1]
            replica.step += steps
            replica.context_sum += len(replica.running) * steps * self.scheduler.tokens_per_step
            replica.stretch = None
        elif replica.chunks or replica.running:
            replica.step += 1
            replica.context_sum += len(replica.running) * self.scheduler.tokens_per_step
            for request, size in replica.chunks:
                request.done_prefill += size
                if request.done_prefill < request.prompt:
                    replica.pending += size
                    continue  # a chunk of a longer prompt: it stays in `prefilling`
                replica.pending -= request.done_prefill - size - request.cached
                replica.prefilling.remove(request)
                if request.first < 0:
                    request.first = now
                request.generated += 1
                if request.segments and self.scheduler.prefix_caching:
                    self._hold(replica, request)
                if request.generated >= request.output:
                    self._release(replica, request)
                    self._keep_tail(replica, request)
                    done.append(request)
                    continue
                request.join_step = replica.step
                request.finish_step = replica.step + self._steps_for(
                    request.output - request.generated
                )
                replica.running[request.rid] = request
                replica.context_sum += request.prompt + 1
                if request.pinned:
                    replica.shared += request.segment_tokens
                heapq.heappush(
                    replica.finishing,
                    (request.finish_step, request.rid, request.epoch, request),
                )
            replica.chunks = []
        heap = replica.finishing
        while heap and heap[0][0] <= replica.step:
            _, key, epoch, request = heapq.heappop(heap)
            if epoch != request.epoch or key not in replica.running:
                continue
            del replica.running[key]
            replica.context_sum -= request.prompt + self._grown(replica, request) + 1
            if request.pinned:
                replica.shared -= request.segment_tokens
                self._release(replica, request)
            self._keep_tail(replica, request)
            request.generated = request.output
            done.append(request)

    def _preempt_youngest(self, replica: Replica) -> None:
        key = next(reversed(replica.running))
        request = replica.running.pop(key)
        grown = self._grown(replica, request)
        generated = min(request.output - 1, request.generated + int(grown))
        replica.context_sum -= request.prompt + grown + 1
        if request.pinned:
            replica.shared -= request.segment_tokens
            self._release(replica, request)
        request.cached = 0
        request.epoch += 1  # its finishing entry is now stale
        request.generated = generated
        request.prompt = request.prompt + generated  # recompute: prefill prompt and output so far
        request.done_prefill = 0
        replica.waiting.appendleft(request)
        self.preemptions += 1

    def _steps_for(self, tokens: int) -> int:
        """Decode steps that yield `tokens` tokens (one a step, or the expected accepted
        length of speculative decoding)."""
        per_step = self.scheduler.tokens_per_step
        return tokens if per_step == 1.0 else math.ceil(tokens / per_step)

    def _grown(self, replica: Replica, request: Request) -> float:
        """Tokens a running request's context has grown by since it joined."""
        return (replica.step - request.join_step) * self.scheduler.tokens_per_step

    def _kv_used(self, replica: Replica) -> float:
        """Cache in use: running contexts (less what lives in cached segments), prompts being
        prefilled or pulled, prompts waiting to be handed over, every cached segment once, and
        the fixed part of each sequence held."""
        held = len(replica.running) + len(replica.prefilling) + len(replica.pulling)
        return (
            replica.context_sum
            - replica.shared
            + replica.pending
            + replica.cache_tokens
            + replica.handing
            + held * self.scheduler.fixed_tokens
        )

    # --- the prefix cache ---------------------------------------------------------------------

    @staticmethod
    def _lookup(replica: Replica, request: Request) -> int:
        """Hold the leading segments the replica has cached; the prompt tokens they cover (all
        but the last prompt token at most: that one is always computed)."""
        cache, lru = replica.cache, replica.lru
        found = 0
        for key, _ in request.segments:
            entry = cache.get(key)
            if entry is None:
                break
            if entry[1] == 0:
                del lru[key]
                replica.lru_tokens -= entry[0]
            entry[1] += 1
            request.pinned += 1
            found += entry[0]
        return min(found, request.prompt - 1)

    @staticmethod
    def _hold(replica: Replica, request: Request) -> None:
        """After its prefill: cache the request's other segments, held by it."""
        cache, lru = replica.cache, replica.lru
        for key, tokens in request.segments[request.pinned :]:
            entry = cache.get(key)
            if entry is None:
                cache[key] = [tokens, 1]
                replica.cache_tokens += tokens
            else:
                if entry[1] == 0:
                    del lru[key]
                    replica.lru_tokens -= entry[0]
                entry[1] += 1
        request.pinned = len(request.segments)

    @staticmethod
    def _release(replica: Replica, request: Request) -> None:
        """Let go of the segments a request held: the ones no one holds stay cached, newest
        last in the eviction order."""
        cache, lru = replica.cache, replica.lru
        for key, _ in request.segments[: request.pinned]:
            entry = cache[key]
            entry[1] -= 1
            if entry[1] == 0:
                lru[key] = entry[0]
                replica.lru_tokens += entry[0]
        request.pinned = 0

    def _keep_tail(self, replica: Replica, request: Request) -> None:
        """Cache what the request generated, held by no one, for its session's next turn."""
        if request.tail is None or not self.scheduler.prefix_caching:
            return
        key, tokens = request.tail
        if key not in replica.cache:
            replica.cache[key] = [tokens, 0]
            replica.lru[key] = tokens
            replica.cache_tokens += tokens
            replica.lru_tokens += tokens

    @staticmethod
    def _evict(replica: Replica, needed: float) -> float:
        """Evict unheld segments, least recently used first, until `needed` tokens are free
        (or none is left); the tokens freed."""
        freed = 0
        cache, lru = replica.cache, replica.lru
        while freed < needed and lru:
            key, tokens = lru.popitem(last=False)
            del cache[key]
            freed += tokens
        replica.cache_tokens -= freed
        replica.lru_tokens -= freed
        return freed

    def plan(self, replica: Replica, now: float) -> None:
        """Choose what the replica does next, from `now`, and schedule its end."""
        cfg = self.scheduler
        capacity = cfg.kv_capacity_tokens
        per_step = cfg.tokens_per_step
        while (
            replica.running and self._kv_used(replica) + len(replica.running) * per_step > capacity
        ):
            over = self._kv_used(replica) + len(replica.running) * per_step - capacity
            if not (replica.lru and self._evict(replica, over)):
                self._preempt_youngest(replica)
        d = len(replica.running)
        budget = cfg.max_step_tokens - d
        chunks: list[tuple[Request, int]] = []
        reserved = self._kv_used(replica) + d * per_step
        for request in replica.prefilling:  # continue chunked prompts first
            size = min(request.prompt - request.done_prefill, budget)
            if size <= 0:
                break
            chunks.append((request, size))
            budget -= size
        caching = cfg.prefix_caching
        while (
            replica.waiting
            and budget > 0
            and d + len(replica.prefilling) + len(replica.pulling) < cfg.max_batch
        ):
            request = replica.waiting[0]
            hit = self._lookup(replica, request) if caching and request.segments else 0
            need = request.prompt - hit + 1 + cfg.fixed_tokens
            if reserved + need > capacity and replica.lru:
                reserved -= self._evict(replica, reserved + need - capacity)
            if reserved + need > capacity and (
                d or replica.prefilling or replica.pulling or replica.handing
            ):
                self._release(replica, request)
                break  # wait for room in the cache
            if request.remote:  # its KV cache is on the prefill side: room for it, then pull
                assert self.pull is not None
                replica.waiting.popleft()
                request.cached = request.done_prefill = hit
                replica.pending += request.prompt - 1 - hit
                replica.pulling.append(request)
                reserved += need
                self.pull(request, request.prompt - hit, now)
                continue
            left = request.prompt - hit
            size = left if not cfg.chunked_prefill else min(left, budget)
            if size > budget and (chunks or d):
                self._release(replica, request)
                break  # a whole prompt waits for a step with room for it
            replica.waiting.popleft()
            if caching and request.generated == 0 and request.measured:
                self._count(request, hit)
            request.cached = request.done_prefill = hit
            replica.prefilling.append(request)
            chunks.append((request, size))
            budget -= size
            reserved += need
        queue = len(replica.waiting)
        if chunks:
            tokens = 0.0
            units = 0.0
            completing = 0
            for request, size in chunks:
                tokens += size
                units += size * (request.done_prefill + size / 2)
                completing += request.done_prefill + size >= request.prompt
            dt = self.steps.mixed(d, replica.context_sum, tokens, units, completing)
            replica.chunks = chunks
            replica.started, replica.active, replica.queued = now, d + len(chunks), queue
            self._schedule(replica, now + dt)
        elif d:
            heap = replica.finishing
            while heap and (heap[0][2] != heap[0][3].epoch or heap[0][1] not in replica.running):
                heapq.heappop(heap)
            steps = heap[0][0] - replica.step if heap else 1
            room = int((capacity - self._kv_used(replica) + replica.lru_tokens) // (d * per_step))
            steps = max(1, min(steps, room))
            a = self.steps.decode(d, replica.context_sum)
            b = 0.0
            if steps > 1:
                later = replica.context_sum + (steps - 1) * d * per_step
                b = (self.steps.decode(d, later) - a) / (steps - 1)
            duration = a * steps + b * steps * (steps - 1) / 2
            replica.stretch = (now, steps, a, b)
            replica.started, replica.active, replica.queued = now, d, queue
            self._schedule(replica, now + duration)
        else:
            replica.busy = False

    def _count(self, request: Request, hit: int) -> None:
        """The hit counter, once per measured request (at its first admission)."""
        self.prompt_tokens += request.prompt
        self.cached_tokens += hit
        if request.segments:
            self.prefix_lookups += 1
            self.prefix_hits += request.pinned > 0

    # --- the run ------------------------------------------------------------------------------

    def run(
        self,
        arrivals: Iterator[Arrival] | None = None,
        closed_loop: tuple[int, int, Callable[[], tuple[int, int, Segments]]] | None = None,
        warmup: int = 0,
        progress: Callable[[int], None] | None = None,
        next_turn: Callable[[object, float], Arrival | None] | None = None,
    ) -> Outcome:
        """Open loop: `arrivals` yields Arrival tuples in time order. Closed loop: (clients,
        total requests, lengths()) — every client sends its next request the moment its
        previous one ends, all starting at time 0. Sessions: when a request of a session ends
        at `now`, `next_turn(session, now)` gives the session's next request (None: it is
        over)."""
        delay = self.steps.params.request_overhead_ms * 1e-3  # sent -> at the scheduler
        pending: list[tuple[float, int, int, int, Segments]] = []  # closed: (time, client, ...)
        sent = 0
        total = 0
        lengths: Callable[[], tuple[int, int, Segments]] | None = None
        if closed_loop is not None:
            clients, total, lengths = closed_loop
            for client in range(min(clients, total)):
                pending.append((delay, client, *lengths()))
            heapq.heapify(pending)
        source = iter(arrivals) if arrivals is not None else iter(())
        next_arrival = next(source, None)
        turns: list[tuple[float, int, int, int, Segments, tuple[int, int] | None, object]] = []
        tick = 0  # orders turns sent at the same time
        out_arrival: array[float] = array("d")
        out_first: array[float] = array("d")
        out_end: array[float] = array("d")
        out_output: array[int] = array("q")
        out_rid: array[int] = array("q")
        first_arrival = INF
        now = 0.0
        replicas = self.replicas
        finished = 0
        next_report = PROGRESS_EVERY
        while True:
            if pending:
                t_arrival = pending[0][0]
            elif next_arrival is not None:
                t_arrival = next_arrival[0] + delay
            else:
                t_arrival = INF
            from_turns = bool(turns) and turns[0][0] + delay < t_arrival
            if from_turns:
                t_arrival = turns[0][0] + delay
            t_event = self.next_event()
            if t_arrival == INF and t_event == INF:
                break
            if t_arrival <= t_event:
                now = t_arrival
                tail: tuple[int, int] | None = None
                session: object = None
                client = -1
                if from_turns:
                    _, _, prompt, output, segments, tail, session = heapq.heappop(turns)
                elif pending:
                    _, client, prompt, output, segments = heapq.heappop(pending)
                else:
                    assert next_arrival is not None
                    _, prompt, output, segments, tail, session = next_arrival
                    next_arrival = next(source, None)
                request = Request(
                    sent,
                    now - delay,
                    prompt,
                    output,
                    client,
                    sent >= warmup,
                    segments,
                    tail,
                    session,
                )
                first_arrival = min(first_arrival, now - delay)
                sent += 1
                if not self.arrive(request, now) and lengths is not None and sent < total:
                    # the client moves on to its next request
                    heapq.heappush(pending, (now + delay, client, *lengths()))
                continue
            now, replica, done = self.advance()
            if progress is not None and done:
                finished += len(done)
                if finished >= next_report:
                    progress(finished)
                    next_report += PROGRESS_EVERY
            for request in done:
                if request.measured:
                    out_arrival.append(request.arrival)
                    out_first.append(request.first)
                    out_end.append(now)
                    out_output.append(request.output)
                    out_rid.append(request.rid)
                if lengths is not None and sent + len(pending) < total:
                    heapq.heappush(pending, (now + delay, request.client, *lengths()))
                if next_turn is not None and request.session is not None:
                    follow = next_turn(request.session, now)
                    if follow is None:
                        self.forget(request.session)
                    else:
                        tick += 1
                        heapq.heappush(turns, (follow[0], tick, *follow[1:]))
            self.plan(replica, now)
        return Outcome(
            out_arrival,
            out_first,
            out_end,
            out_output,
            self.preemptions,
            self.rejected,
            now,
            0.0 if first_arrival == INF else first_arrival,
            sum(r.batch_area for r in replicas),
            sum(r.queue_area for r in replicas),
            len(replicas),
            self.prefix_lookups,
            self.prefix_hits,
            self.cached_tokens,
            self.prompt_tokens,
            out_rid,
        )
