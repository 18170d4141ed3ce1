// GraphQL Code Generator: types every operation in src/ from the public contract plus the
// fields the server serves beyond it (served-additions.graphql, checked against the
// server by tests/playground/test_playground_build.py). The output in src/gql/ is
// committed; `npm run check-codegen` (run by `make test`) fails when it is stale.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: ["../docs/api-contract.graphql", "served-additions.graphql"],
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**/*"],
  ignoreNoDocuments: false,
  generates: {
    [process.env.CODEGEN_OUT ?? "src/gql/"]: {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: { DateTime: "string", Upload: "File" },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
