"""Couler's cluster config for the seed pipeline (`config_workflow(cluster_config_file=...)`):
the workflow-wide settings Couler's calls have no argument for (the parameters, the
parallelism limit, the node selector), added to the spec it renders."""

import pipeline_settings as s


class SeedCluster:
    def config_workflow(self, spec):
        spec["arguments"] = {"parameters": [{"name": k, "value": v} for k, v in s.PARAMETERS.items()]}
        spec["parallelism"] = s.PARALLELISM
        if s.NODE_SELECTOR:
            spec["nodeSelector"] = dict(s.NODE_SELECTOR)
        return spec


cluster = SeedCluster()
