"""Benchmarks: `paperfeed bench NAME`. Each module has `add_arguments(parser)` and `run(options) -> dict`;
every figure is reported next to a baseline measured in the same run."""

BENCHMARKS = {
    "import": "paperfeed.bench.import_",
    "digest": "paperfeed.bench.digest",
    "web": "paperfeed.bench.web",
    "load": "paperfeed.bench.load",
    "recs": "paperfeed.bench.recs",
    "recs-latency": "paperfeed.bench.recs_latency",
    "search": "paperfeed.bench.search",
    "suggest": "paperfeed.bench.suggest",
    "scale": "paperfeed.bench.scale",
    "admin": "paperfeed.bench.admin",
    "auth-timing": "paperfeed.bench.auth_timing",
    "all": "paperfeed.bench.all",
}
