"""The seed platform's Couler example, as written for Couler but for the import line
(was `import couler.argo as couler` / `from couler.argo_submitter import ArgoSubmitter`).

Run as a script by tests/couler/test_seed_e2e.py against a live `conveyor server`:
every setting comes from the environment variables the seed platform documents.
"""

import os

import conveyor.couler as couler
from conveyor.couler import ArgoSubmitter, ImagePullSecret, Toleration


def pipeline_job(name, source, env_user):
    couler.add_toleration(Toleration(key=os.environ["WORKFLOW_NODE_TOLERATION_KEY"], effect="NoSchedule",
                                     operator="Exists"))
    couler.add_toleration(Toleration(key=os.environ["WORKFLOW_NODE_TOLERATION_KEY"], effect="NoExecute",
                                     operator="Exists"))
    couler.add_image_pull_secret(ImagePullSecret(os.environ["REGISTRY_PULL_SECRET"]))
    return couler.run_script(
        image="python:3.11",
        source=source,
        step_name=name,
        env={"USER_NAME": env_user},
        node_selector={os.environ["WORKFLOW_NODE_SELECTOR_KEY"]: os.environ["WORKFLOW_NODE_SELECTOR_VALUE"]},
    )


def hello():
    import os

    print("hello", os.environ["USER_NAME"])


couler.config_workflow(name="seed-couler")
couler.set_dependencies(lambda: pipeline_job("hello-job", hello, "ada"), dependencies=None)
submitter = ArgoSubmitter(namespace=os.environ.get("WORKFLOW_NS", "default"))
couler.run(submitter=submitter)
