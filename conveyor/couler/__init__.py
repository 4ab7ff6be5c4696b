"""Couler's Python API for building Argo workflows, on conveyor.

Scripts written for Couler (https://github.com/couler-proj/couler) run with
only the import changed::

    import conveyor.couler as couler            # was: import couler.argo as couler
    from conveyor.couler import ArgoSubmitter   # was: from couler.argo_submitter import ArgoSubmitter

The calls build one global workflow (as in Couler); `workflow_yaml()` shows
it and `run(submitter=...)` submits it: `ArgoSubmitter` posts it to a conveyor
or Argo server, `LocalSubmitter` runs it in this process like `conveyor run`.
Everything generated is plain Argo, so the same script submits to Argo.
"""

from conveyor.couler._conditional import (
    WFStatus,
    bigger,
    bigger_equal,
    equal,
    not_equal,
    set_exit_handler,
    smaller,
    smaller_equal,
    when,
)
from conveyor.couler._config import config_defaults, config_workflow
from conveyor.couler._dag import dag, set_dependencies
from conveyor.couler._local import LocalSubmitter
from conveyor.couler._loops import concurrent, map
from conveyor.couler._outputs import (
    LocalArtifact,
    Output,
    OutputArtifact,
    OutputScript,
    create_local_artifact,
    get_step_output,
)
from conveyor.couler._pod import (
    ImagePullSecret,
    Toleration,
    add_image_pull_secret,
    add_toleration,
    create_secret,
    get_secret,
    obtain_secret,
)
from conveyor.couler._render import workflow_yaml
from conveyor.couler._run import run_container, run_script
from conveyor.couler._state import cleanup as _cleanup
from conveyor.couler._submit import run, set_default_submitter
from conveyor.couler._templates import ImagePullPolicy
from conveyor.couler.argo_submitter import ArgoSubmitter

#: Couler's name for starting afresh is `_cleanup`; `reset` says the same in public.
reset = _cleanup

__all__ = [
    "ArgoSubmitter",
    "ImagePullPolicy",
    "ImagePullSecret",
    "LocalArtifact",
    "LocalSubmitter",
    "Output",
    "OutputArtifact",
    "OutputScript",
    "Toleration",
    "WFStatus",
    "add_image_pull_secret",
    "add_toleration",
    "bigger",
    "bigger_equal",
    "concurrent",
    "config_defaults",
    "config_workflow",
    "create_local_artifact",
    "create_secret",
    "dag",
    "equal",
    "get_secret",
    "get_step_output",
    "map",
    "not_equal",
    "obtain_secret",
    "reset",
    "run",
    "run_container",
    "run_script",
    "set_default_submitter",
    "set_dependencies",
    "set_exit_handler",
    "smaller",
    "smaller_equal",
    "when",
    "workflow_yaml",
]
