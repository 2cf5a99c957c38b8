// Helpers of the Bundles page, kept out of the component so they are unit-tested.

/** The model card's free-text sections, in the card's order (keys as `lathe bundle export --card` takes them). */
export const cardSections = [
  { key: "intended_use", title: "Intended use", hint: "Who should use it, for what; what it is not for." },
  { key: "factors", title: "Factors", hint: "Groups, instruments, environments that matter for its performance." },
  { key: "ethical_considerations", title: "Ethical considerations", hint: "Sensitive data, risks, harms and mitigations." },
  { key: "caveats", title: "Caveats and recommendations", hint: "Known limits; where it was not validated." },
  { key: "model_details", title: "Model details (more)", hint: "Owners, training procedure, contact." },
  { key: "training_data", title: "Training data (more)", hint: "How the data was collected and preprocessed." },
] as const;

export type CardSection = (typeof cardSections)[number]["key"];

/** The proposed archive name: `<model>-<version>.tar.gz`, with characters file systems dislike replaced. */
export function bundleFileName(model: string, version: number): string {
  return `${model}-${version}.tar.gz`.replace(/[^\w.-]+/g, "_");
}

/** The last component of a path (either separator), for a compact table cell. */
export function fileName(path: string): string {
  const parts = path.split(/[\\/]/).filter((p) => p !== "");
  return parts[parts.length - 1] ?? path;
}
