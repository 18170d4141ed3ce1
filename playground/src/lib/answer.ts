// One way to read a mutation's answer: show what went wrong, or hand back the success.
//
//   const [fields, setFields] = useState<Record<string, string>>({});
//   const [error, setError] = useState("");
//   ...
//   const data = answerOf(await createKey({ name }), (d) => d.createApiKey, {
//     error: setError,            // a sentence for the form's ErrorNote
//     fields: setFields,          // InvalidInput's messages, keyed as the form's fields
//     shown: ["name", "scopes"],  // the field keys the form can show (see invalidInput)
//   });
//   if (data) ...                 // not an error: narrow on data.__typename if the union has several
//
// The mutation must select `...UserErrorFields` (src/lib/operations.ts) on its result union.
import type { ErrorCode } from "../gql/graphql";
import { errorMessage } from "./client";
import { invalidInput } from "./format";

/** Where a form shows a failure. Without `fields`, every InvalidInput message goes to `error`. */
export interface Report {
  error: (message: string) => void;
  fields?: (byField: Record<string, string>) => void;
  shown?: readonly string[];
}

interface UserErrorLike {
  __typename?: string;
  code: ErrorCode;
  message: string;
  fields?: readonly string[];
  errors?: readonly { field: string; message: string }[];
}

/** The members of a result union that are not errors. */
export type Success<T> = Exclude<T, { code: ErrorCode }>;

/** The answer picked out of a mutation's result, or null once its failure was reported:
 * a network or GraphQL error (as `errorMessage` words it), InvalidInput (split into the
 * form's fields and a summary of the rest), or any other UserError's own sentence. */
export function answerOf<D, T>(
  result: { data?: D | null; error?: unknown },
  pick: (data: D) => T | null | undefined,
  report: Report,
): Success<T> | null {
  if (result.error) {
    report.error(errorMessage(result.error));
    return null;
  }
  const answer = result.data ? pick(result.data) : null;
  if (answer === null || answer === undefined) {
    report.error("The server sent no answer. Please try again.");
    return null;
  }
  if (typeof answer === "object" && "code" in answer) {
    const failure = answer as unknown as UserErrorLike;
    if (failure.__typename === "InvalidInput" && failure.errors) {
      const { fields, summary } = invalidInput(
        { message: failure.message, fields: failure.fields ?? [], errors: failure.errors },
        report.fields ? report.shown ?? [] : [],
      );
      report.fields?.(fields);
      report.error(summary);
    } else {
      report.error(failure.message);
    }
    return null;
  }
  return answer as Success<T>;
}
