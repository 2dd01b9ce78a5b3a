"""Use cases the search tests share: the issue-12 70B chat case, its servers and precision left
to fill in."""

CHAT_70B = """\
name: chat-70b
model: llama-3-70b
input_tokens: 1500
output_tokens: 300
latency:
  first_token_ms: 2000
  inter_token_ms: 60
load:
  avg_rps: 10
hardware:
  server: SERVERS
  precision: PRECISION
"""


def chat_70b(servers: str, precision: str) -> str:
    return CHAT_70B.replace("SERVERS", servers).replace("PRECISION", precision)
