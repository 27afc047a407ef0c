// The admin API answers coded errors of the one HTTP shell (packages/runtime).
export { BadRequestError, ConflictError, NotFoundError } from "@hookstream/runtime";
