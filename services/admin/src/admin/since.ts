// `since` as the admin API and the CLI take it: one definition, in the contracts.
export { parseSince } from "@hookstream/contracts";
