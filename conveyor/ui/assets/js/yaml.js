// YAML through js-yaml (vendored, MIT): manifests are shown and read as YAML.
import jsyaml from "../vendor/js-yaml.mjs";

export const load = (text) => jsyaml.load(text);
export const dump = (value) => jsyaml.dump(value, { noRefs: true, lineWidth: 120, sortKeys: false });
