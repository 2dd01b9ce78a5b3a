"""The twin of a disaggregated deployment: a prefill pool, the KV cache's transfer, a decode
pool — two simulations in tandem.

Every request of the seeded open-loop schedule is prefilled by the prefill pool (its replicas
run prompts only: a request ends there with its first token). Its KV cache then crosses to the
decode pool (`transfer_s(prompt)` later), where it arrives already holding its prompt: the
decode replica it is routed to keeps that KV as cached (held by no one until the request is
admitted; under memory pressure it may be evicted, and the prompt is then recomputed there),
and the request decodes its other tokens in steps that carry decode only. Its first token is
the prefill pool's plus the transfer (or, where the engine's client gets it from the decode
worker, as vLLM's NIXL flow does, that replica's first step's); its last is the decode pool's.

A tandem, not one coupled simulation: a full decode pool does not hold prompts back in the
prefill pool (their KV would wait there); the queue forms at the decode pool instead, and the
requests' first tokens are unaffected by it. Open-loop (Poisson) traffic only.

A shared prefix (the use case's prefix_cache) is cached by each prefill replica as the
aggregated twin caches it (a request that finds it prefills only the rest), and by each decode
replica: a request that shares it hands over only the rest of its KV cache, and the decode
replica holds the prefix once for all (received with the first such request). The prefix
counters are the prefill pool's.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Callable
from dataclasses import replace

from llmsize.sim.engine import Arrival, Outcome
from llmsize.sim.run import SHARED_KEY, Traffic, TwinSetup, open_loop


def run_disaggregated(
    prefill: TwinSetup,
    decode: TwinSetup,
    traffic: Traffic,
    transfer_s: Callable[[int], float],
    first_from_decode: bool = False,
) -> Outcome:
    """One seeded run of both pools; the Outcome of the measured requests as a client sees
    them (occupancy: the decode pool's). `first_from_decode`: the client's first token is the
    decode replica's first step's (the prefill's sampled token recomputed there, as vLLM's NIXL
    flow does), not the prefill pool's plus the transfer."""
    if traffic.rate is None or traffic.trace is not None or traffic.sessions is not None:
        raise ValueError("the disaggregated twin replays Poisson traffic only")
    rng = random.Random(traffic.seed)
    requests = [arrival[:4] for arrival in open_loop(traffic, rng)]
    first_pass = prefill.simulation()
    prefilled = first_pass.run(
        arrivals=iter([(t, prompt, 1, opens, None, None) for t, prompt, _, opens in requests]),
        warmup=0,
    )
    first = dict(zip(prefilled.rids, prefilled.first, strict=True))
    handed: list[tuple[Arrival, int]] = []
    crossing: dict[int, float] = {}  # each request's KV transfer, s
    for rid, (_, prompt, output, opens) in enumerate(requests):
        if rid not in first or (output == 1 and not first_from_decode):
            continue
        # a shared prefix is in the decode replicas' prefix cache too: only the rest crosses
        shared = sum(tokens for key, tokens in opens if key == SHARED_KEY)
        own = ((rid + 1, prompt - shared),)
        segments = (((SHARED_KEY, shared), *own)) if shared else own
        crossing[rid] = transfer_s(prompt - shared)
        at = first[rid] + crossing[rid]
        left = output if first_from_decode else output - 1  # the tokens the decode side emits
        handed.append(((at, prompt, left, segments, None, None), rid))
    handed.sort(key=lambda item: (item[0][0], item[1]))
    # the decode pool's front end is the router's hand-off, not a client's request
    decoding = replace(
        decode,
        prefix_caching=True,
        params=replace(decode.params, request_overhead_ms=0.0),
    ).simulation()
    decoding.transferred = True
    decoded = decoding.run(arrivals=iter([arrival for arrival, _ in handed]), warmup=0)
    end = {handed[i][1]: e for i, e in zip(decoded.rids, decoded.end, strict=True)}
    emitted = {handed[i][1]: f for i, f in zip(decoded.rids, decoded.first, strict=True)}
    out_arrival: array[float] = array("d")
    out_first: array[float] = array("d")
    out_end: array[float] = array("d")
    out_output: array[int] = array("q")
    out_rid: array[int] = array("q")
    for rid, (t, _, output, _) in enumerate(requests):
        if rid < traffic.warmup or rid not in first:
            continue
        if first_from_decode:
            token, last = emitted.get(rid), end.get(rid)
        else:
            token = first[rid] + crossing.get(rid, 0.0)
            last = first[rid] if output == 1 else end.get(rid)
        if token is None or last is None:  # its prompt and answer never fit a decode replica
            continue
        out_arrival.append(t)
        out_first.append(token)
        out_end.append(last)
        out_output.append(output)
        out_rid.append(rid)
    return Outcome(
        out_arrival,
        out_first,
        out_end,
        out_output,
        prefilled.preemptions + decoded.preemptions,
        prefilled.rejected + decoded.rejected,
        max(prefilled.end_time, decoded.end_time),
        prefilled.first_arrival,
        decoded.batch_area,
        prefilled.queue_area + decoded.queue_area,
        decoded.replicas,
        prefilled.prefix_lookups,
        prefilled.prefix_hits,
        prefilled.cached_tokens,
        prefilled.prompt_tokens,
        rids=out_rid,
    )
