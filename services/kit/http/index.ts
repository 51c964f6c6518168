// The module's public face: what the rest of the product uses of it (docs/architecture.md, "The kit").
export {
  type KeepAlivePool,
  type KeepAliveRequest,
  type KeepAliveRequestOptions,
  keepAlivePool,
  keepAliveRequest,
} from "./keep-alive-request.js";
