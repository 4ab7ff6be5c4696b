"""The seed pipeline, written against the legacy `hera-workflows` 4.x API.

It runs unchanged against conveyor (and against Argo): every setting comes from
the environment variables the seed platform documents (pipeline_settings.py),
which `conveyor env` prints for the local server. It submits the same workflow
as hera_pipeline.py, couler_pipeline.py and pipeline.yaml. Run it in its own
virtualenv (hera 4 pins argo-workflows 6.3.5):

    python3 -m venv .venv-hera4
    .venv-hera4/bin/pip install hera-workflows==4.4.2 argo-workflows==6.3.5 typing_extensions
    eval "$(conveyor env --create-token)"      # hera 4 insists on a token
    .venv-hera4/bin/python examples/pipelines/legacy_hera_pipeline.py

It prints the name the server gave the workflow (a unique one: generate_name).
"""

import sys

import pipeline_settings as s
from hera.artifact import Artifact
from hera.env import Env
from hera.parameter import Parameter
from hera.task import Task
from hera.toleration import Toleration
from hera.workflow import Workflow
from hera.workflow_service import WorkflowService


def greet():
    import os
    print(f"hello from python, {os.environ['PIPELINE_USER']}")


def main():
    service = WorkflowService(host=s.HOST, namespace=s.NAMESPACE, token=s.TOKEN or "", verify_ssl=False)
    w = Workflow(name="seed-pipeline-", generate_name=True, dag_name="main", service=service,
                 parameters=[Parameter(k, v) for k, v in s.PARAMETERS.items()],
                 parallelism=s.PARALLELISM, service_account_name=s.SERVICE_ACCOUNT,
                 image_pull_secrets=s.PULL_SECRETS or None, node_selectors=s.NODE_SELECTOR or None,
                 tolerations=[Toleration(**t) for t in s.TOLERATIONS] or None)
    py = Task(name="python-task", image="python:3.11", source=greet,
              env=[Env(name="PIPELINE_USER", value=s.USER)], node_selectors=s.SMALL_NODE_SELECTOR or None)
    stats = Task(name="container-task", image=s.IMAGE_REF, command=s.STATS_COMMAND,
                 env=[Env(name=k, value=v) for k, v in s.STATS_ENV.items()], outputs=[Artifact(name="stats", path=s.STATS_PATH)])
    py >> stats
    w.add_tasks(py, stats)
    created = service.create_workflow(w.build())
    # hera 4 asks for the reply unchecked, so its metadata is a plain dict
    print(created.metadata["name"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
