"""From a plan's answer to a deployment: the launch command of one replica of the recommended
configuration for vLLM, SGLang or TensorRT-LLM, or a minimal Kubernetes manifest (vLLM's image).

Every flag is one the engine's own `--help` lists (tests/report/test_launch.py checks them
against captured help texts). What a command cannot express is refused by name, never guessed:
a layout the engine cannot run, or a 4-bit precision that needs a checkpoint quantized ahead.
"""

from __future__ import annotations

import json
import math
import shlex
from dataclasses import dataclass
from pathlib import Path

from llmsize.catalog import Gpu, LlmArch, Server
from llmsize.deployment import Layout
from llmsize.errors import InputError
from llmsize.search import PlanResult
from llmsize.usecase import Resolved
from llmsize.workload import Speculation

TARGETS = ("vllm", "sglang", "trtllm", "k8s")
VLLM_IMAGE = "vllm/vllm-openai:v0.12.0"
"""The image the manifest runs: vLLM's official image on Docker Hub (docs.vllm.ai, "Using
Docker"), pinned to a release tag (hub.docker.com/layers/vllm/vllm-openai/v0.12.0)."""
PORT = 8000
SPREAD_SIGMAS = 4.0
"""A lognormal length's context room: its mean plus this many standard deviations."""


@dataclass(frozen=True, slots=True)
class Replica:
    """What one replica of the answer runs: where, how laid out, and how many of them."""

    model: LlmArch
    server: Server
    gpu: Gpu
    layout: Layout
    precision: str
    kv_precision: str | None
    max_running: int | None  # the concurrency the answer was sized at (None: the engine's own)
    step_tokens: int
    servers: int
    context_tokens: int
    speculation: Speculation | None = None

    @property
    def replicas(self) -> int:
        return self.layout.replicas_on(self.servers, self.server.gpus)


def replica_of(result: PlanResult) -> Replica:
    """The configuration the plan leads with: the replayed one where the twin chose it (the
    engine's own batch limit, as the twin ran it), else the steady-state recommendation (capped
    at the concurrency it was sized at)."""
    from llmsize.perf.kv_budget import scheduler

    uc = result.usecase
    headline = result.headline
    sim = result.simulated
    chosen = None
    if headline is not None and headline.method == "replay" and sim is not None:
        chosen = next(
            (s.choice for s in sim.per_server if s.server.id == headline.server and s.choice),
            None,
        )
    rec = result.recommendation
    engine = result.engine or ""
    if chosen is not None:
        c = chosen.candidate
        server, gpu, layout, precision, batch = c.server, c.gpu, c.layout, c.precision, None
        servers = chosen.servers
    elif rec is not None and rec.best is not None and rec.best.layout is not None:
        best = rec.best
        server, gpu, precision = rec.server, rec.gpu, best.precision
        layout = rec.best.layout
        batch = int(best.batch) if best.mode == "inflight" and best.batch else None
        servers = rec.servers or 1
    elif rec is not None and rec.best is not None:
        raise InputError(
            "--emit",
            f"the answer is a measurement that does not state its layout ({rec.best.source}); "
            "no launch command can be written for it",
        )
    else:
        raise InputError("--emit", "nothing was planned: there is no configuration to launch")
    return Replica(
        uc.model,
        server,
        gpu,
        layout,
        precision,
        uc.kv_precision,
        batch,
        scheduler(engine).tokens_for(gpu),
        servers,
        context_room(uc),
        uc.speculation,
    )


def context_room(uc: Resolved) -> int:
    """The longest request the server must accept: the use case's lengths (a spread's mean plus
    SPREAD_SIGMAS deviations), rounded up to 256 tokens, within the model's window."""
    need = (
        uc.input_tokens_total
        + SPREAD_SIGMAS * uc.input_stddev
        + uc.output_tokens
        + SPREAD_SIGMAS * uc.output_stddev
    )
    return min(uc.model.context_window, 256 * math.ceil(need / 256))


def repository(model: LlmArch) -> str:
    """The Hugging Face repository the engine loads: named in the catalog entry's source
    ('meta-llama/Llama-3.1-70B config.json') or aliases; a model read from a config.json file
    loads from that file's folder."""
    local = model.source.removeprefix("config.json at ")
    if local != model.source:  # read from a file: the checkpoint's folder
        return str(Path(local).parent) if local.endswith(".json") else local
    first = model.source.split()[0] if model.source else ""
    if first.count("/") == 1 and not first.startswith(("/", ".")):
        return first
    for alias in model.aliases:
        if alias.count("/") == 1:
            return alias
    raise InputError(
        "--emit",
        f"no Hugging Face repository is known for {model.id}: give the model as a config.json "
        "in the checkpoint's folder, or add the repository to its catalog aliases",
    )


def _checkpoint_precision(model: LlmArch) -> str:
    return model.native.name if model.native is not None else "bf16"


def _wide(precision: str) -> bool:
    """A 16-bit precision (BF16 or FP16), as the precision table stores it."""
    from llmsize.catalog.precisions import weight_bytes

    return weight_bytes(precision) == 2.0


def _quantize(replica: Replica, engine: str) -> list[str]:
    """Flags that make the engine run the planned precision from the model's checkpoint."""
    wanted, stored = replica.precision, _checkpoint_precision(replica.model)
    if wanted == stored:
        return []
    if _wide(wanted):
        if not _wide(stored):
            raise InputError(
                "--emit", f"{replica.model.id} is stored in {stored}; it cannot run in {wanted}"
            )
        dtype = "bfloat16" if wanted == "bf16" else "float16"
        return {"vllm": ["--dtype", dtype], "sglang": ["--dtype", dtype]}.get(engine, [])
    if wanted == "fp8" and _wide(stored):
        # weights quantized to FP8 as the engine loads them (per-tensor scales)
        return {"vllm": ["--quantization", "fp8"], "sglang": ["--quantization", "fp8"]}.get(
            engine, []
        )
    raise InputError(
        "--emit",
        f"{wanted} needs a checkpoint quantized ahead (the engines read its scheme from the "
        f"checkpoint); {replica.model.id} is stored in {stored}: point the command at such a "
        "checkpoint",
    )


def _kv(replica: Replica, engine: str) -> list[str]:
    kv = replica.kv_precision
    if kv is None or _wide(kv):
        return []
    if kv != "fp8":
        raise InputError("--emit", f"a {kv} KV cache has no launch flag in {engine}")
    return {"vllm": ["--kv-cache-dtype", "fp8"], "sglang": ["--kv-cache-dtype", "fp8_e4m3"]}.get(
        engine, []
    )


def _speculative(replica: Replica, engine: str) -> list[str]:
    """Speculative decoding's flags: vLLM's --speculative-config (docs.vllm.ai, "MTP" and
    "Draft Model"), SGLang's --speculative-algorithm NEXTN (MTP) or STANDALONE (a draft model)
    with a chain of draft steps (docs.sglang.io, "Speculative Decoding")."""
    spec = replica.speculation
    if spec is None:
        return []
    if spec.method == "eagle":
        raise InputError(
            "--emit",
            "an EAGLE-3 head is a checkpoint of its own and the use case names none; no launch "
            "command is written for it",
        )
    draft = repository(spec.draft_model) if spec.draft_model is not None else None
    k = spec.draft_tokens
    if engine == "vllm":
        config: dict[str, object] = {"method": "mtp" if draft is None else "draft_model"}
        if draft is not None:
            config["model"] = draft
        config["num_speculative_tokens"] = k
        return ["--speculative-config", json.dumps(config, separators=(",", ":"))]
    args = ["--speculative-algorithm", "NEXTN" if draft is None else "STANDALONE"]
    if draft is not None:
        args += ["--speculative-draft-model-path", draft]
    args += ["--speculative-num-steps", str(k), "--speculative-eagle-topk", "1"]
    return [*args, "--speculative-num-draft-tokens", str(k + 1)]


def vllm_command(replica: Replica) -> list[str]:
    """`vllm serve`: TP and PP per replica; attention data parallelism as --data-parallel-size,
    whose expert parallelism spans every GPU of the replica (TP x DP) when enabled. Each DP rank
    is an engine core of its own ("Data Parallel Deployment", docs.vllm.ai), so --max-num-seqs
    is the replica's concurrency over its ranks."""
    layout = replica.layout
    args = ["vllm", "serve", repository(replica.model)]
    args += ["--tensor-parallel-size", str(layout.tp)]
    if layout.pp > 1:
        args += ["--pipeline-parallel-size", str(layout.pp)]
    if layout.attention_dp > 1:
        args += ["--data-parallel-size", str(layout.attention_dp)]
    if layout.ep > 1:
        if layout.ep != layout.width:
            raise InputError(
                "--emit",
                f"vLLM's expert parallelism spans all {layout.width} GPUs of a stage; "
                f"{layout.label} (EP{layout.ep}) cannot be launched as planned",
            )
        args.append("--enable-expert-parallel")
    args += _quantize(replica, "vllm") + _kv(replica, "vllm")
    args += _speculative(replica, "vllm")
    args += ["--max-model-len", str(replica.context_tokens)]
    args += ["--max-num-batched-tokens", str(replica.step_tokens)]
    if replica.max_running is not None:  # each DP rank is an engine core with its own limit
        per_rank = math.ceil(replica.max_running / layout.attention_dp)
        args += ["--max-num-seqs", str(per_rank)]
    return [*args, "--host", "0.0.0.0", "--port", str(PORT)]


def sglang_command(replica: Replica) -> list[str]:
    """`python -m sglang.launch_server`: --tp-size counts a stage's GPUs; attention data
    parallelism splits them (--dp-size with --enable-dp-attention); --ep-size the MoE's."""
    layout = replica.layout
    args = ["python", "-m", "sglang.launch_server", "--model-path", repository(replica.model)]
    args += ["--tp-size", str(layout.width)]
    if layout.pp > 1:
        args += ["--pp-size", str(layout.pp)]
    if layout.attention_dp > 1:
        args += ["--dp-size", str(layout.attention_dp), "--enable-dp-attention"]
    if layout.ep > 1:
        args += ["--ep-size", str(layout.ep)]
    args += _quantize(replica, "sglang") + _kv(replica, "sglang")
    args += _speculative(replica, "sglang")
    args += ["--context-length", str(replica.context_tokens)]
    args += ["--chunked-prefill-size", str(replica.step_tokens)]
    if replica.max_running is not None:
        # the replica's total: SGLang's scheduler gives each attention-DP rank
        # max_running_requests // dp_size, first rounding the total down to a multiple of the
        # DP size (sglang/srt/managers/scheduler.py, per_dp_max_running_requests), so round up
        ranks = layout.attention_dp
        total = math.ceil(replica.max_running / ranks) * ranks
        args += ["--max-running-requests", str(total)]
    return [*args, "--host", "0.0.0.0", "--port", str(PORT)]


def trtllm_command(replica: Replica) -> tuple[list[str], str]:
    """`trtllm-serve` (PyTorch backend) and the extra options file it reads for what has no flag
    (attention data parallelism, the KV cache's dtype)."""
    layout = replica.layout
    if replica.precision != _checkpoint_precision(replica.model):
        raise InputError(
            "--emit",
            f"TensorRT-LLM serves the precision its checkpoint is stored in; for "
            f"{replica.precision} point it at a {replica.precision} checkpoint of "
            f"{replica.model.id} (stored in {_checkpoint_precision(replica.model)})",
        )
    args = ["trtllm-serve", repository(replica.model), "--backend", "pytorch"]
    args += ["--tp_size", str(layout.width), "--pp_size", str(layout.pp)]
    if layout.ep > 1:
        args += ["--ep_size", str(layout.ep)]
    args += ["--max_seq_len", str(replica.context_tokens)]
    args += ["--max_num_tokens", str(replica.step_tokens)]
    if replica.max_running is not None:
        args += ["--max_batch_size", str(replica.max_running)]
    options = []
    if layout.attention_dp > 1:
        options.append("enable_attention_dp: true")
    if replica.kv_precision == "fp8":
        options += ["kv_cache_config:", "  dtype: fp8"]
    elif replica.kv_precision is not None and not _wide(replica.kv_precision):
        raise InputError("--emit", f"a {replica.kv_precision} KV cache has no trtllm-serve option")
    spec = replica.speculation
    if spec is not None:
        if spec.method != "mtp":
            raise InputError(
                "--emit",
                f"only MTP speculative decoding is written for trtllm-serve, not {spec.method}",
            )
        options += [
            "speculative_config:",
            "  decoding_type: MTP",
            f"  num_nextn_predict_layers: {spec.draft_tokens}",
        ]
    if options:
        args += ["--extra_llm_api_options", "extra-llm-api-options.yaml"]
    args += ["--host", "0.0.0.0", "--port", str(PORT)]
    return args, "\n".join(options)


def k8s_manifest(replica: Replica) -> str:
    """A Deployment of the replicas (one pod each, vLLM's image) and a Service in front."""
    if replica.layout.servers_spanned(replica.server.gpus) > 1:
        raise InputError(
            "--emit",
            f"a replica of {replica.layout.gpus} GPUs spans servers; one pod cannot hold it "
            "(a multi-node launcher such as LeaderWorkerSet is needed)",
        )
    command = vllm_command(replica)
    args = "\n".join(f"            - {_yaml_string(a)}" for a in command[2:])
    name = "llmsize-" + "".join(ch if ch.isalnum() else "-" for ch in replica.model.id.lower())
    name = name[:50].strip("-")
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replica.replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      nodeSelector:
        # each pod needs {replica.layout.gpus} x {replica.gpu.id} on one node
        nvidia.com/gpu.present: "true"
      containers:
        - name: vllm
          image: {VLLM_IMAGE}
          command: ["vllm", "serve"]
          args:
{args}
          ports:
            - containerPort: {PORT}
          resources:
            limits:
              nvidia.com/gpu: {replica.layout.gpus}
          volumeMounts:
            - name: shm
              mountPath: /dev/shm
      volumes:
        - name: shm
          emptyDir:
            medium: Memory
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector:
    app: {name}
  ports:
    - port: {PORT}
      targetPort: {PORT}
"""


def _yaml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


VLLM_KV_TRANSFER = {"kv_connector": "NixlConnector", "kv_role": "kv_both"}
"""vLLM's disaggregated workers: the NIXL connector, each worker both sending and receiving
(docs.vllm.ai, "NixlConnector Usage Guide")."""


def disaggregated_launch(result: PlanResult, target: str) -> str:
    """`plan --disaggregated --emit TARGET`: a prefill worker's and a decode worker's command
    of the fewest-server disaggregated answer, each with its role, and how many of each to run
    behind a prefill/decode router (vLLM's proxy, SGLang's router, Dynamo or llm-d)."""
    options = [o for o in result.disaggregated if o.choice is not None]
    if not options:
        raise InputError("--emit", "no disaggregated deployment was found to launch")
    if target in ("trtllm", "k8s"):
        raise InputError(
            "--emit",
            "a disaggregated deployment is emitted for vllm or sglang; TensorRT-LLM's is "
            "launched by `trtllm-serve disaggregated` with a cluster file, and a manifest "
            "needs a router, which --emit does not write",
        )
    rec = result.recommendation
    preferred = rec.server.id if rec is not None else ""
    # one server type's answer first (the recommended type's), the fewest servers among them
    option = min(
        options,
        key=lambda o: (o.decode_server is not None, o.server.id != preferred, o.servers or 0),
    )
    c = option.choice
    assert c is not None
    units = option.replayed_units or c.units  # the replayed count where the twin found one
    uc = result.usecase
    gpus = result_gpu(c.server), result_gpu(c.decode_box)
    from llmsize.perf.kv_budget import scheduler

    lines = [
        f"# disaggregated on {option.servers} x {option.where} ({c.precision}), sized by "
        f"llmsize for {result.engine or 'the default engine'}: {units * c.prefill_workers} "
        f"prefill worker(s) of {c.prefill.gpus} x {gpus[0].id} ({c.prefill.label}) and "
        f"{units * c.decode_workers} decode worker(s) of {c.decode.gpus} x {gpus[1].id} "
        f"({c.decode.label}), behind a prefill/decode router; the KV cache over {c.kv_link}",
    ]
    for role, box, gpu, layout, running in (
        ("prefill", c.server, gpus[0], c.prefill, None),
        ("decode", c.decode_box, gpus[1], c.decode, max(1, round(c.times.decode_batch))),
    ):
        step_tokens = scheduler(result.engine or "").tokens_for(gpu)
        replica = Replica(
            uc.model, box, gpu, layout, c.precision, uc.kv_precision, running,
            step_tokens, c.servers, context_room(uc), uc.speculation if role == "decode" else None,
        )  # fmt: skip
        if target == "vllm":
            args = vllm_command(replica)
            args += ["--kv-transfer-config", json.dumps(VLLM_KV_TRANSFER, separators=(",", ":"))]
        else:
            args = sglang_command(replica)
            args += ["--disaggregation-mode", role, "--disaggregation-transfer-backend", "nixl"]
        lines += [f"# {role} worker", shlex.join(args)]
    return "\n".join(lines) + "\n"


def result_gpu(server: Server) -> Gpu:
    from llmsize.catalog import load_catalog

    return load_catalog().gpu_of(server)


def launch_text(result: PlanResult, target: str) -> str:
    """What `plan --emit TARGET` prints: the command (or manifest) and, as comments, how many
    replicas to run and what it was sized for (with --disaggregated: the disaggregated answer's
    prefill and decode workers)."""
    if target not in TARGETS:
        raise InputError("--emit", f"{target!r} is not one of {', '.join(TARGETS)}")
    if result.disaggregated:
        return disaggregated_launch(result, target)
    replica = replica_of(result)
    if target == "k8s":
        return k8s_manifest(replica)
    lines = [
        f"# {replica.replicas} replica(s) of {replica.layout.gpus} x {replica.gpu.id} "
        f"({replica.precision} {replica.layout.label}) on {replica.servers} x "
        f"{replica.server.id}, behind a load balancer; sized by llmsize for "
        f"{result.engine or 'the default engine'}"
    ]
    if target == "trtllm":
        args, options = trtllm_command(replica)
        if options:
            lines += ["cat > extra-llm-api-options.yaml <<'EOF'", options, "EOF"]
    else:
        args = vllm_command(replica) if target == "vllm" else sglang_command(replica)
    lines.append(shlex.join(args))
    return "\n".join(lines) + "\n"
