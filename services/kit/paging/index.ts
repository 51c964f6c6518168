// The module's public face: what the rest of the product uses of it (docs/architecture.md, "The kit").
export { decodePageToken, encodePageToken, isOffset, pageSizeOf } from "./page-token.js";
