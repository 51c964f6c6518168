/**
 * Why a Client ID Metadata Document could not be used, for the log only: the requester gets one
 * generic refusal whatever happened (metadata-document.ts), so the fetch can't be used to learn
 * what answers at an address.
 */
export class DocumentProblem extends Error {
  override readonly name = "DocumentProblem";
}
