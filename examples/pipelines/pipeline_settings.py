"""The seed platform's settings, read from its environment variables (`conveyor config`
lists them; `conveyor env` prints the ones that point at a local server).

Shared by hera_pipeline.py, couler_pipeline.py and legacy_hera_pipeline.py, so the three
build the same workflow as pipeline.yaml when the variables hold that file's values.
Plain values only: each client wraps them in its own types. An unset variable leaves its
field out of the workflow.
"""

import os


def env(name, default=""):
    return os.environ.get(name) or default


HOST = env("PIPELINE_HOST", "http://127.0.0.1:2746")
NAMESPACE = env("WORKFLOW_NS", env("PIPELINE_NS", "default"))
TOKEN = env("PIPELINE_TOKEN") or None
#: the seed project's image (examples/seed-project), as pushed to the registry: the default
#: of the workflow parameter `image`, which a resubmit or `submit -p image=...` can change
IMAGE = env("PIPELINE_IMAGE", "127.0.0.1:5000/seed/grid-stats:1")
#: the workflow's parameters (name -> default value)
PARAMETERS = {"image": IMAGE}
#: the container task's image, as Argo spells a workflow parameter
IMAGE_REF = "{{workflow.parameters.image}}"
USER = env("PIPELINE_USER", "conveyor")
SERVICE_ACCOUNT = env("WORKFLOW_SA") or None
PULL_SECRETS = [env("REGISTRY_PULL_SECRET")] if env("REGISTRY_PULL_SECRET") else []
_KEY = env("WORKFLOW_NODE_SELECTOR_KEY")
#: every pod of the workflow goes to the regular pool, the small Python task to the small one
NODE_SELECTOR = {_KEY: env("WORKFLOW_NODE_SELECTOR_VALUE")} if _KEY and env("WORKFLOW_NODE_SELECTOR_VALUE") else {}
SMALL_NODE_SELECTOR = ({_KEY: env("WORKFLOW_NODE_SELECTOR_VALUE_SMALL")}
                       if _KEY and env("WORKFLOW_NODE_SELECTOR_VALUE_SMALL") else {})
TOLERATIONS = ([{"key": env("WORKFLOW_NODE_TOLERATION_KEY"), "operator": "Equal",
                 "value": env("WORKFLOW_NODE_TOLERATION_VALUE"), "effect": "NoSchedule"}]
               if env("WORKFLOW_NODE_TOLERATION_KEY") else [])
#: tasks of one run at once: the seed docs' guard for services that limit requests
PARALLELISM = 2
#: the seed image's entrypoint, named as the container's command (hera 4 would default it to python)
STATS_COMMAND = ["sh", "/app/entrypoint.sh"]
#: what the container task computes: the seed image's settings, as its environment
STATS_ENV = {"TILE_NAME": "seed-tile", "GRID_SIZE": "128", "GRID_SEED": "7"}
#: where the seed image writes its statistics: the container task's output artifact `stats`
STATS_PATH = "/tmp/outputs/stats.json"
