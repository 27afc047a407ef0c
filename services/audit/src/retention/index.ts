export * from "./startRetention";
