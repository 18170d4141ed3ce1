"""The Strawberry schema. Always imported as ``neurall.graphql``: a top-level ``graphql``
package would shadow graphql-core."""
