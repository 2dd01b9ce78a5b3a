"""The plan for people: the checklist as understood, every server type, the calculator's view."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from llmsize.economics import PlanCost
from llmsize.perf.estimate import Estimate
from llmsize.report.console import SafeTable, safe
from llmsize.search import PlanResult, servers_needed
from llmsize.search.steady import servers_range
from llmsize.usecase import Resolved

if TYPE_CHECKING:  # the disaggregated search loads the twin: not for a plan that has none
    from llmsize.search.disaggregated import DisaggregatedChoice, DisaggregatedOption


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _config(e: Estimate) -> str:
    """Compact: 'fp8 TP4 BS128' (static batch) or 'fp8 TP4 C64' (in-flight concurrency)."""
    return e.label


_STYLE = {"measured": "green", "interpolated": "yellow", "modelled": "magenta"}
_SHORT = {"interpolated": "interp.", "modelled": "model"}


def _provenance(e: Estimate) -> Text:
    return Text(_SHORT.get(e.provenance, e.provenance), style=_STYLE.get(e.provenance, ""))


UNVALIDATED = "unval."
"""The ±err cell of a modelled row whose error was never measured (the table's caption says
why, row by row)."""


def _error(e: Estimate) -> str:
    """Typical error of a modelled row (UNVALIDATED where it was never measured)."""
    if e.provenance != "modelled":
        return ""
    return UNVALIDATED if e.error_pct is None else f"{e.error_pct:.0f} %"


def _unvalidated_caption(rows: list[tuple[str, Estimate]]) -> str | None:
    """Why each 'unval.' row has no error figure: the model's note (a layout, layer kind or
    speculative decoding no calibration run covers), or its borrowed calibration."""
    why: dict[str, list[str]] = {}
    for server, e in rows:
        if _error(e) == UNVALIDATED:
            reason = e.note if e.note.startswith("error unknown") else "error unknown (borrowed)"
            why.setdefault(reason, []).append(server)
    lines = [f"{UNVALIDATED} {', '.join(servers)}: {reason}" for reason, servers in why.items()]
    return "\n".join(lines) or None


def _servers(servers: int | None, span: tuple[int, int] | None) -> str:
    """'13', or '13 (12–15)' with the 90 % range where the model's error was measured."""
    if span is None or span == (servers, servers):
        return str(servers)
    return f"{servers} ({span[0]}–{span[1]})"


def range_words(span: tuple[int, int] | None, note: str) -> str:
    """' (90 % range 12–15)', with how it was widened, said only where the error was measured;
    ' (range unvalidated)' where it never was; '' for a measured answer. Every report says a
    server count's range with these words."""
    if span is None:
        return " (range unvalidated)" if note == "unvalidated" else ""
    widened = f"; {note}" if note else ""
    return f" (90 % range {span[0]}–{span[1]}{widened})"


def engine_line(engine: str, batching: str) -> str:
    """'vLLM (V1 engine), continuous batching' and how to change it."""
    from llmsize.perf.kv_budget import memory_rule

    how = (
        "continuous batching"
        if batching == "inflight"
        else "static batches (the talk's calculator)"
    )
    return f"{memory_rule(engine).label}, {how} (engine: / --engine, batching: / --mode to change)"


def checklist(uc: Resolved) -> Table:
    grid = SafeTable.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    arch = uc.model
    grid.add_row("Use case", f"{uc.name} — {arch.id} ({arch.name})")
    parts = f"system prompt {uc.system_prompt_tokens:,} + input {uc.input_tokens:,}"
    total = uc.input_tokens_total + uc.output_tokens
    grid.add_row(
        "Tokens",
        f"in {uc.input_tokens_total:,} ({parts}), out {uc.output_tokens:,}; "
        f"{total:,} of the {arch.context_window:,}-token context window",
    )
    limits = [
        f"{name} ≤ {value:,g} ms"
        for name, value in (
            ("first token", uc.first_token_ms),
            ("last token", uc.last_token_ms),
            ("inter-token", uc.inter_token_ms),
        )
        if value is not None
    ]
    grid.add_row("Limits", ", ".join(limits) or NO_LIMITS)
    cached = prefix_words(uc)
    if cached is not None:
        grid.add_row("Prefix cache", cached)
    drafting = speculation_words(uc)
    if drafting is not None:
        grid.add_row("Speculative", drafting)
    conversation = session_words(uc)
    if conversation is not None:
        grid.add_row("Sessions", conversation)
    if uc.is_batch:
        grid.add_row("Load", batch_words(uc))
    elif uc.peak_source == "given":
        grid.add_row("Peak", f"{uc.peak_rps:,g} req/s (given)")
    else:
        assert uc.avg_rps is not None
        rise = (uc.peak_rps / uc.avg_rps - 1) * 100
        grid.add_row(
            "Peak",
            f"{uc.peak_rps:,g} req/s = {uc.peak_percentile:.0%} quantile of Poisson(avg "
            f"{uc.avg_rps:,g} req/s) per second (+{rise:.0f} %)",
        )
    return grid


NO_LIMITS = "none: a batch job's latencies are shown, not limiting"


def batch_words(uc: Resolved) -> str:
    """A batch job's load: the rate that finishes its work within its window."""
    assert uc.batch_requests is not None and uc.window_hours is not None
    work = f"{uc.batch_requests:,} requests"
    if uc.batch_tokens is not None:
        work += f" ({uc.batch_tokens:,.0f} tokens in and out)"
    return (
        f"{uc.peak_rps:,.4g} req/s = {work} within {uc.window_hours:g} h a day; a batch job, "
        "sized for throughput (no Poisson peak: its requests wait in a queue)"
    )


def prefix_words(uc: Resolved) -> str | None:
    """The shared prefix the engine's prefix cache holds, as the answer credits it (None: the
    use case shares none)."""
    prefix = uc.prefix
    if prefix is None:
        return uc.prefix_note or None
    what = (
        "the system prompt"
        if not uc.prefix_given or prefix.tokens == uc.system_prompt_tokens
        else "a shared prefix"
    )
    words = (
        f"{prefix.tokens:,} tokens ({what}) computed once per replica; {prefix.hit_rate:.0%} of "
        f"requests find it cached, so a request prefills {uc.prefilled_tokens:,.0f} of its "
        f"{uc.input_tokens_total:,} input tokens on average"
    )
    return f"{words}; {uc.prefix_note}" if uc.prefix_note else words


METHOD_WORDS = {
    "mtp": "the model's own multi-token-prediction layers",
    "eagle": "an EAGLE-3 head",
    "draft": "a draft model",
}


def session_words(uc: Resolved) -> str | None:
    """Multi-turn sessions: what a turn repeats, and whether the cache serves it."""
    sessions = uc.sessions
    if sessions is None:
        return None
    repeated = sessions.mean_history(uc.turn_input_tokens, uc.output_tokens)
    served = (
        "served from the prefix cache of the replica the session sticks to"
        if uc.history_tokens
        else "prefilled again (no prefix cache credited)"
    )
    return (
        f"{sessions.turns} turns a conversation, {sessions.think_s:g} s from an answer to the "
        f"next question; a turn's new input is {uc.turn_input_tokens:,} tokens and it repeats "
        f"{repeated:,.0f} tokens of earlier turns on average, {served}"
    )


def speculation_words(uc: Resolved) -> str | None:
    """Speculative decoding as the answer credits it (None: the use case asks for none)."""
    spec = uc.speculation
    if spec is None:
        return uc.speculation_note or None
    where = "given" if spec.rate_source == "given" else f"published: {spec.rate_source}"
    return (
        f"{METHOD_WORDS[spec.method]} draft {spec.draft_tokens} token(s) a step, each accepted "
        f"{spec.acceptance_rate:.1%} of the time ({where}): {spec.tokens_per_step:.2f} tokens a "
        f"step on average; a drafting pass costs {spec.draft_share:.1%} of a decode step"
    )


def load_words(uc: Resolved) -> str:
    """The rate a plan is sized for, named as what it is."""
    if uc.is_batch:
        return f"the batch job's {uc.peak_rps:,.4g} req/s"
    return f"a peak of {uc.peak_rps:,g} req/s"


def priced_words(result: PlanResult, server: str) -> str:
    """What a cost line prices: the count that server type is answered with, said to be the
    twin's or the steady state's where the plan was replayed; the type alone with no count."""
    n, method = result.answered.get(server, (0, ""))
    if not n:
        return server
    if result.simulated is None:
        return f"{n} x {server}"
    how = "replayed" if method == "replay" else "the steady state's count; the twin found none"
    return f"{n} x {server} ({how})"


def billed_words(cost: PlanCost) -> str:
    """', rented 8 h a day' where rented servers run for a batch job's window only."""
    hours = cost.billed_hours_per_day
    return f", rented {hours:g} h a day" if hours < 24 else ""


def server_table(result: PlanResult) -> Table:
    table = SafeTable(title="Server types", title_justify="left", box=box.SIMPLE_HEAD)
    for column, justify in (
        ("server", "left"),
        ("servers", "right"),
        ("config", "left"),
        ("TTFT ms", "right"),
        ("ITL ms", "right"),
        ("E2E ms", "right"),
        ("req/s/server", "right"),
        ("±err", "right"),
        ("data", "left"),
        ("source", "left"),
    ):
        no_wrap = column in {"server", "config"}
        table.add_column(
            column,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=no_wrap,
            max_width=28 if column == "source" else None,
        )
    rec = result.recommendation
    shown: list[tuple[str, Estimate]] = []
    for p in sorted(result.plans, key=lambda p: (p.servers is None, p.servers or 0, p.server.id)):
        name = Text(p.server.id, style="bold" if p is rec else "")
        if p.best is None:
            label = p.status.words if p.status != "infeasible" else "over limits"
            table.add_row(name, "—", Text(label, style="dim"), *[""] * 7)
            continue
        e = p.best
        shown.append((p.server.id, e))
        table.add_row(
            name,
            _servers(p.servers, servers_range(result.usecase.peak_rps, e)),
            _config(e),
            _ms(e.ttft_ms),
            _ms(e.itl_ms),
            _ms(e.e2e_ms),
            f"{e.rps_per_server:,.2f}",
            _error(e),
            _provenance(e),
            e.source,
        )
    caption = _unvalidated_caption(shown)
    if caption is not None:
        table.caption, table.caption_justify = caption, "left"
    return table


def optimal_table(result: PlanResult) -> Table | None:
    rec = result.recommendation
    if rec is None or rec.best is None or rec.latency_optimal is None:
        return None
    table = SafeTable(
        title=f"Calculator view on {rec.server.id}", title_justify="left", box=box.SIMPLE_HEAD
    )
    for column in ("", "config", "TTFT ms", "ITL ms", "E2E ms", "req/s/server", "servers", "data"):
        table.add_column(column)
    for label, e in (("throughput-optimal", rec.best), ("latency-optimal", rec.latency_optimal)):
        table.add_row(
            label,
            _config(e),
            _ms(e.ttft_ms),
            _ms(e.itl_ms),
            _ms(e.e2e_ms),
            f"{e.rps_per_server:,.2f}",
            str(servers_needed(result.usecase.peak_rps, e.rps_per_server, e.servers_per_replica)),
            _provenance(e),
        )
    return table


def render_plan(result: PlanResult, console: Console) -> None:
    uc = result.usecase
    grid = checklist(uc)
    if result.engine:
        grid.add_row("Engine", engine_line(result.engine, result.batching))
    parts: list[Table | Text] = [grid, Text(""), server_table(result)]
    optimal = optimal_table(result)
    if optimal is not None:
        parts += [Text(""), optimal]
    console.print(Group(*parts))
    unplanned = [p for p in result.plans if p.best is None]
    rec = result.recommendation
    render_costs(result, console)
    if unplanned and rec is not None:
        console.print("\nNot planned:")
        for p in unplanned:
            more = f" (+{len(p.reasons) - 2} more)" if len(p.reasons) > 2 else ""
            console.print(
                safe(f"  {p.server.id}: {'; '.join(p.reasons[:2])}{more}"), soft_wrap=True
            )
    replayed = result.headline is not None and result.headline.method == "replay"
    if rec is not None and rec.best is not None:
        e = rec.best
        lead = "Steady state (Poisson peak):" if replayed else "[bold green]Recommendation:[/]"
        console.print(
            f"\n{lead} {rec.servers} × {safe(rec.server.id)}"
            f"{range_words(servers_range(uc.peak_rps, e), e.range_note)} "
            f"({rec.server.gpus}× {rec.gpu.id}, {_config(e)}) — {e.rps_per_server:,.2f} req/s per "
            f"server against {load_words(uc)} ({e.provenance}, {safe(e.source)})."
        )
        if e.note:
            console.print(safe(f"Note: {e.note}."))
        if e.provenance == "modelled" and e.error_pct is None:
            why = (
                "this GPU has no measurements of its own; its calibration is borrowed"
                if "borrowed" in e.source
                else "no calibration measurement covers this configuration (see the note)"
            )
            console.print(
                f"Warning: {why}, so the error is unknown. Measure it (llmsize bench, then "
                "llmsize calibrate) before committing money."
            )
        console.print("Sources:")
        for citation in e.citations:
            console.print(safe(f"  • {citation}"), soft_wrap=True)
    else:
        console.print("\n[bold red]No configuration meets the limits.[/] Why, per server type:")
        for p in result.plans:
            for reason in p.reasons:
                console.print(safe(f"  {p.server.id}: {reason}"), soft_wrap=True)
    for warning in result.warnings:
        console.print(f"[yellow]Warning:[/] {safe(warning)}.", soft_wrap=True)
    if result.simulated is not None:
        render_simulated(result, console)
    if result.disaggregated:
        render_disaggregated(result, console)


def render_disaggregated(result: PlanResult, console: Console) -> None:
    """plan --disaggregated: each server type's prefill/decode deployment beside its
    aggregated count (steady state, means; not replayed)."""
    aggregated = {p.server.id: p.servers for p in result.plans if p.best is not None}
    console.print(
        "\n[bold]Disaggregated[/] (a prefill and a decode pool, sized by the steady-state model "
        "at the peak, mean latencies, modelled; then replayed in the disaggregated twin, "
        "simulated)."
    )
    for option in result.disaggregated:
        c = option.choice
        if c is None:
            console.print(safe(f"  {option.where}: none ({option.reason})"), soft_wrap=True)
            continue
        t = c.times
        versus = aggregated.get(option.server.id) if option.decode_server is None else None
        beside = f" against {versus} aggregated" if versus is not None else ""
        console.print(
            safe(
                f"  {option.where}: {servers_words(c)}{beside} — {c.label} "
                f"({c.gpus} GPUs, {c.units} x {c.prefill_workers}P{c.decode_workers}D at "
                f"{c.concurrency_per_unit:,} requests each): TTFT {t.ttft_ms:,.0f} ms, ITL "
                f"{t.itl_ms:,.1f} ms, the KV cache over {c.kv_link}"
            ),
            soft_wrap=True,
        )
        words = replay_words(option, result.usecase.percentile)
        console.print(safe(f"    {words}"), soft_wrap=True)
        if option.cost is not None and option.cost.per_month_usd is not None:
            console.print(safe(f"    cost: {cost_words(option)}"), soft_wrap=True)
        console.print(
            safe(f"    model accuracy: {disaggregated_accuracy(result, option)}"), soft_wrap=True
        )
    from llmsize.report.serving_modes import across_words

    line = across_words(result)
    if line:
        console.print(safe(line), soft_wrap=True)


def servers_words(choice: DisaggregatedChoice) -> str:
    """'3 servers', or '5 servers (2 x dgx-b200 + 3 x hgx-h200)' when the pools' types differ."""
    n = choice.servers
    words = f"{n} server{'s' if n != 1 else ''}"
    if choice.decode_server is None:
        return words
    return f"{words} ({' + '.join(f'{k} x {box.id}' for box, k in choice.counts)})"


def cost_words(option: DisaggregatedOption) -> str:
    """The answer's monthly cost and its cost per million output tokens."""
    cost = option.cost
    assert cost is not None and cost.per_month_usd is not None
    per_million = cost.usd_per_million_output_tokens
    tokens = f"${per_million:,.2f} per million output tokens; " if per_million else ""
    return f"${cost.per_month_usd:,.0f} a month ({tokens}{cost.server_price_source})"


def disaggregated_accuracy(result: PlanResult, option: DisaggregatedOption) -> str:
    """The steady-state model's measured error for this model on this server type's GPU under
    the plan's engine, or "unvalidated" and why."""
    from llmsize.perf.disaggregated import measured_error

    if not result.engine:
        return "unvalidated (no engine)"
    gpus = option.server.gpu
    if option.decode_server is not None:
        gpus = f"{gpus} + {option.decode_server.gpu}"  # never measured as a pair
    return measured_error(result.engine, result.usecase.model, gpus)


def replay_words(option: DisaggregatedOption, percentile: float) -> str:
    """What the disaggregated twin made of a choice, in one line."""
    if option.replayed is None:
        return "not replayed (plan --method peak)"
    r, q, c = option.replayed, percentile, option.choice
    name = f"p{round(q * 100)}"
    figures = (
        f"{name} TTFT {r.ttft_ms.at(q):,.0f} ms, ITL {r.itl_ms.at(q):,.1f} ms, E2E "
        f"{r.e2e_ms.at(q):,.0f} ms"
    )
    if option.misses or c is None:
        return (
            f"replayed in the disaggregated twin at {r.load_value:g} req/s: {figures}; misses "
            f"{'; '.join(map(str, option.misses))} even at 4 x + 4 units"
        )
    answer = option.answer
    assert answer is not None
    n = answer.servers
    return (
        f"replayed in the disaggregated twin at {r.load_value:g} req/s: {servers_words(answer)} "
        f"({option.replayed_units} x {c.prefill_workers}P{c.decode_workers}D) "
        f"{'keep' if n != 1 else 'keeps'} every limit at {name}: {figures}"
    )


def render_costs(result: PlanResult, console: Console) -> None:
    """Monthly cost per planned server type (where a price is known) against the API."""
    costs = {k: v for k, v in result.costs.items() if v.per_month_usd is not None}
    api, rate = result.api_cost, result.api_rate
    hours = result.usecase.cost.hours_per_day
    for server, c in costs.items():
        assert c.per_month_usd is not None
        per_m = c.usd_per_million_output_tokens or 0
        console.print(
            f"Cost: {priced_words(result, server)} ${c.per_month_usd:,.0f} a month at "
            f"{c.server_usd_per_hour:g} $/h"
            f"{billed_words(c)} (${per_m:,.2f} per million output tokens; "
            f"{c.server_price_source})",
            soft_wrap=True,
        )
    console.print(
        f"The same traffic from an API ({api.price.id}, {rate:g} req/s for {hours:g} h a day): "
        f"${api.per_month_usd:,.0f} a month ({api.price.source})"
        f"{'; ' + api.notes if api.notes else ''}.",
        soft_wrap=True,
    )


def render_simulated(result: PlanResult, console: Console) -> None:
    """The digital twin's answer beside the Poisson-peak one, and one line on why they differ."""
    from llmsize.report.sim_table import simulated_plan_table

    sim = result.simulated
    assert sim is not None
    console.print()
    console.print(simulated_plan_table(sim))
    rec = sim.recommendation
    if rec is None or rec.choice is None:
        console.print("[bold red]The digital twin found no deployment within the limits.[/]")
        return
    headline = result.headline
    assert headline is not None  # the twin found a deployment
    console.print(
        f"[bold green]Recommendation (replayed in the digital twin):[/] {headline.servers} x "
        f"{headline.server}{range_words(headline.span, headline.note)} ({headline.config}, "
        "in-flight batching) keeps "
        f"p{round(sim.percentile * 100)} within every limit at {sim.rate:g} req/s "
        f"({sim.simulations} simulation{'s' if sim.simulations != 1 else ''})."
    )
    console.print(why_they_differ(result))


def why_they_differ(result: PlanResult) -> str:
    """One line on why the Poisson-peak answer and the replayed one differ, for the server type
    the plan recommends."""
    sim, uc, headline = result.simulated, result.usecase, result.headline
    assert sim is not None and headline is not None
    steady = next((p for p in result.plans if p.server.id == headline.server), None)
    if steady is None or steady.servers is None:
        return (
            f"Why they differ: no static batch on {headline.server} meets the limits, while "
            "in-flight batching (new requests join every step) does."
            if result.batching == "static"
            else f"Why they differ: no steady state on {headline.server} keeps the limits "
            "at the peak, while the replay at the use case's load does."
        )
    peak, twin = steady.servers, headline.servers
    basis = {
        "poisson": f"the {uc.peak_percentile:.0%} Poisson peak of {uc.peak_rps:g} req/s",
        "batch": f"the batch job's {uc.peak_rps:.4g} req/s",
    }.get(uc.peak_source, f"the given peak of {uc.peak_rps:g} req/s")
    q = f"p{round(sim.percentile * 100)}"
    on = (
        f"{headline.server}: "
        if result.recommendation is None or (result.recommendation.server.id != headline.server)
        else ""
    )
    if twin < peak:
        if result.batching == "static":
            return (
                f"Why they differ ({on}{peak} vs {twin}): the peak rule sizes static batches "
                f"(each waits for its slowest request) for {basis}; the twin runs in-flight "
                f"batching at {sim.rate:g} req/s and only asks that {q} latency holds, so "
                f"{peak - twin} fewer servers suffice."
            )
        return (
            f"Why they differ ({on}{peak} vs {twin}): the steady state serves {basis} "
            f"whole, at its mean latencies; the twin replays Poisson arrivals at the "
            f"{sim.rate_source} {sim.rate:g} req/s and asks that {q} latency holds, which "
            f"{peak - twin} fewer servers do."
        )
    if twin > peak:
        return (
            f"Why they differ ({on}{peak} vs {twin}): the peak rule counts requests per second "
            f"at {basis}, but queueing within the second and per-request latency percentiles "
            f"need headroom the rule does not see: {twin - peak} more servers keep {q} within "
            "the limits."
        )
    return "Both methods agree on the server count."
