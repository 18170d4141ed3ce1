// Every GraphQL operation the playground sends. Types come from GraphQL Code Generator
// (src/gql/, generated from the public contract; `npm run codegen`).
import { graphql } from "../gql";

// Every expected failure (a member of a result union implementing UserError): its code
// and sentence, and for InvalidInput the message for each field. Select it in every
// mutation, and read the answer with `answerOf` (src/lib/answer.ts).
export const UserErrorFieldsFragment = graphql(`
  fragment UserErrorFields on UserError {
    code
    message
    ... on InvalidInput {
      fields
      errors {
        field
        message
      }
    }
  }
`);

export const AccountFields = graphql(`
  fragment AccountFields on Account {
    id
    email
    name
    credits
    heldCredits
    marketingOptIn
    emailVerified
    pendingEmail
    lowCreditThreshold
    emailNotices
    createdAt
  }
`);

export const JobFields = graphql(`
  fragment JobFields on Job {
    id
    status
    source
    queuePosition
    step
    totalSteps
    progress
    etaSeconds
    heldCredits
    costCredits
    model
    priority
    error
    createdAt
    startedAt
    finishedAt
    params {
      prompt
      negativePrompt
      width
      height
      steps
      guidanceScale
      seed
      numImages
      cloneId
      model
      mode
      scheduler
      strength
      adapters {
        cloneId
        weight
      }
      priority
    }
    images {
      url
      width
      height
      seed
      contentType
      flagged
    }
  }
`);

export const CloneFields = graphql(`
  fragment CloneFields on Clone {
    id
    name
    triggerWord
    status
    progress
    sourceImagesDeleted
    error
    createdAt
    step
    totalSteps
    loss
    imageCount
    baseModel
  }
`);

export const MeQuery = graphql(`
  query Me {
    me {
      ...AccountFields
    }
  }
`);

export const SignUpMutation = graphql(`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) {
      __typename
      ... on Session {
        account {
          ...AccountFields
        }
      }
      ...UserErrorFields
    }
  }
`);

export const LogInMutation = graphql(`
  mutation LogIn($email: String!, $password: String!) {
    logIn(email: $email, password: $password) {
      __typename
      ... on Session {
        account {
          ...AccountFields
        }
      }
      ...UserErrorFields
    }
  }
`);

export const LogOutMutation = graphql(`
  mutation LogOut {
    logOut
  }
`);

export const UpdateProfileMutation = graphql(`
  mutation UpdateProfile($input: ProfileInput!) {
    updateProfile(input: $input) {
      __typename
      ...AccountFields
      ...UserErrorFields
    }
  }
`);

export const ChangePasswordMutation = graphql(`
  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {
    changePassword(currentPassword: $currentPassword, newPassword: $newPassword) {
      __typename
      ...UserErrorFields
    }
  }
`);

export const SetMarketingOptInMutation = graphql(`
  mutation SetMarketingOptIn($optIn: Boolean!) {
    setMarketingOptIn(optIn: $optIn) {
      __typename
      ...AccountFields
      ...UserErrorFields
    }
  }
`);

// The server's model catalog, the default first (no authentication needed).
export const ModelsQuery = graphql(`
  query Models {
    models {
      id
      name
      description
      family
      nativeWidth
      nativeHeight
      maxWidth
      maxHeight
      defaultSteps
      maxSteps
      modes
      schedulers
      supportsClones
      creditsPerImage
      batchCreditsPerImage
      state
      isDefault
    }
  }
`);

export const EstimateCostQuery = graphql(`
  query EstimateCost($input: GenerateInput!) {
    estimateCost(input: $input)
  }
`);

export const GenerateMutation = graphql(`
  mutation Generate($input: GenerateInput!, $idempotencyKey: String) {
    generate(input: $input, idempotencyKey: $idempotencyKey) {
      __typename
      ...JobFields
      ...UserErrorFields
      ... on InsufficientCredits {
        required
        available
      }
      ... on RateLimited {
        retryAfterSeconds
      }
    }
  }
`);

export const CancelJobMutation = graphql(`
  mutation CancelJob($id: ID!) {
    cancelJob(id: $id) {
      __typename
      ...JobFields
      ...UserErrorFields
    }
  }
`);

export const JobQuery = graphql(`
  query Job($id: ID!) {
    job(id: $id) {
      ...JobFields
    }
  }
`);

export const JobEventsSubscription = graphql(`
  subscription JobEvents($jobId: ID!, $afterSeq: Int) {
    jobEvents(jobId: $jobId, afterSeq: $afterSeq) {
      seq
      jobId
      type
      status
      queuePosition
      step
      totalSteps
      progress
      etaSeconds
      preview {
        url
        width
        height
      }
      images {
        url
        width
        height
        seed
        contentType
        flagged
      }
      error
    }
  }
`);

export const HistoryQuery = graphql(`
  query History($first: Int, $after: String) {
    history(first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          createdAt
          job {
            ...JobFields
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const DeleteHistoryItemMutation = graphql(`
  mutation DeleteHistoryItem($id: ID!) {
    deleteHistoryItem(id: $id) {
      __typename
      ... on Deleted {
        deletedCount
      }
      ...UserErrorFields
    }
  }
`);

export const ClearHistoryMutation = graphql(`
  mutation ClearHistory {
    clearHistory {
      __typename
      ... on Deleted {
        deletedCount
      }
      ...UserErrorFields
    }
  }
`);

export const ApiKeyFields = graphql(`
  fragment ApiKeyFields on ApiKey {
    id
    name
    prefix
    scopes
    createdAt
    lastUsedAt
    revokedAt
    spendLimit {
      credits
      period
      spent
      resetsAt
    }
  }
`);

export const ApiKeysQuery = graphql(`
  query ApiKeys {
    apiKeys {
      ...ApiKeyFields
    }
  }
`);

export const CreateApiKeyMutation = graphql(`
  mutation CreateApiKey($name: String!, $scopes: [ApiKeyScope!]) {
    createApiKey(name: $name, scopes: $scopes) {
      __typename
      ... on CreatedApiKey {
        secret
        apiKey {
          ...ApiKeyFields
        }
      }
      ...UserErrorFields
    }
  }
`);

export const RevokeApiKeyMutation = graphql(`
  mutation RevokeApiKey($id: ID!) {
    revokeApiKey(id: $id) {
      __typename
      ...ApiKeyFields
      ...UserErrorFields
    }
  }
`);

export const RegenerateApiKeyMutation = graphql(`
  mutation RegenerateApiKey($id: ID!) {
    regenerateApiKey(id: $id) {
      __typename
      ... on CreatedApiKey {
        secret
        apiKey {
          ...ApiKeyFields
        }
      }
      ...UserErrorFields
    }
  }
`);

export const LedgerQuery = graphql(`
  query Ledger($first: Int, $after: String) {
    me {
      ...AccountFields
    }
    creditLedger(first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          kind
          amount
          balanceAfter
          heldChange
          jobId
          createdAt
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const CreateCheckoutMutation = graphql(`
  mutation CreateCheckout($credits: Int!) {
    createCheckout(credits: $credits) {
      __typename
      ... on Checkout {
        url
        credits
      }
      ...UserErrorFields
    }
  }
`);

export const ClonesQuery = graphql(`
  query Clones {
    clones {
      ...CloneFields
    }
  }
`);

export const CreateCloneMutation = graphql(`
  mutation CreateClone($input: CreateCloneInput!, $images: [Upload!]!) {
    createClone(input: $input, images: $images) {
      __typename
      ...CloneFields
      ...UserErrorFields
      ... on InsufficientCredits {
        required
        available
      }
    }
  }
`);

export const DeleteCloneMutation = graphql(`
  mutation DeleteClone($id: ID!) {
    deleteClone(id: $id) {
      __typename
      ...UserErrorFields
    }
  }
`);

export const CloneEventsSubscription = graphql(`
  subscription CloneEvents($cloneId: ID!) {
    cloneEvents(cloneId: $cloneId) {
      ...CloneFields
    }
  }
`);

export const UsageQuery = graphql(`
  query Usage($since: DateTime!) {
    usage(since: $since) {
      day
      requests
      images
      credits
    }
  }
`);

export const RequestDataExportMutation = graphql(`
  mutation RequestDataExport {
    requestDataExport {
      __typename
      ... on DataExport {
        id
        status
        url
        expiresAt
      }
      ...UserErrorFields
    }
  }
`);

export const DataExportQuery = graphql(`
  query DataExport($id: ID!) {
    dataExport(id: $id) {
      id
      status
      url
      expiresAt
    }
  }
`);

export const DeleteAccountMutation = graphql(`
  mutation DeleteAccount($password: String!) {
    deleteAccount(password: $password) {
      __typename
      ...UserErrorFields
    }
  }
`);

export const VerifyEmailMutation = graphql(`
  mutation VerifyEmail($token: String!) {
    verifyEmail(token: $token) {
      __typename
      ... on Account {
        ...AccountFields
      }
      ...UserErrorFields
    }
  }
`);

export const RequestEmailVerificationMutation = graphql(`
  mutation RequestEmailVerification {
    requestEmailVerification {
      __typename
      ... on Accepted {
        message
      }
      ...UserErrorFields
    }
  }
`);

export const RequestPasswordResetMutation = graphql(`
  mutation RequestPasswordReset($email: String!) {
    requestPasswordReset(email: $email) {
      __typename
      ... on Accepted {
        message
      }
      ...UserErrorFields
    }
  }
`);

export const ResetPasswordMutation = graphql(`
  mutation ResetPassword($token: String!, $newPassword: String!) {
    resetPassword(token: $token, newPassword: $newPassword) {
      __typename
      ... on Session {
        account {
          ...AccountFields
        }
      }
      ...UserErrorFields
    }
  }
`);

export const SetApiKeySpendLimitMutation = graphql(`
  mutation SetApiKeySpendLimit($id: ID!, $limit: SpendLimitInput!) {
    setApiKeySpendLimit(id: $id, limit: $limit) {
      __typename
      ...ApiKeyFields
      ...UserErrorFields
    }
  }
`);

export const SetEmailNoticeMutation = graphql(`
  mutation SetEmailNotice($notice: EmailNotice!, $enabled: Boolean!) {
    setEmailNotice(notice: $notice, enabled: $enabled) {
      __typename
      ...AccountFields
      ...UserErrorFields
    }
  }
`);

export const CreditPriceQuery = graphql(`
  query CreditPrice {
    creditPrice {
      available
      unavailableReason
      unitAmount
      currency
      minCredits
      maxCredits
    }
  }
`);

export const WebhookEndpointFields = graphql(`
  fragment WebhookEndpointFields on WebhookEndpoint {
    id
    url
    description
    events
    enabled
    disabledReason
    createdAt
  }
`);

export const WebhookDeliveryFields = graphql(`
  fragment WebhookDeliveryFields on WebhookDelivery {
    id
    endpointId
    eventId
    eventType
    status
    attempts
    responseStatus
    durationMs
    nextAttemptAt
    createdAt
    lastAttemptAt
  }
`);

export const WebhookEndpointsQuery = graphql(`
  query WebhookEndpoints {
    webhookEndpoints {
      ...WebhookEndpointFields
    }
  }
`);

export const WebhookDeliveriesQuery = graphql(`
  query WebhookDeliveries($endpointId: ID!, $first: Int, $after: String) {
    webhookDeliveries(endpointId: $endpointId, first: $first, after: $after) {
      edges {
        cursor
        node {
          ...WebhookDeliveryFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const CreateWebhookEndpointMutation = graphql(`
  mutation CreateWebhookEndpoint($input: WebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) {
      __typename
      ... on CreatedWebhookEndpoint {
        secret
        endpoint {
          ...WebhookEndpointFields
        }
      }
      ...UserErrorFields
    }
  }
`);

export const UpdateWebhookEndpointMutation = graphql(`
  mutation UpdateWebhookEndpoint($id: ID!, $input: WebhookEndpointUpdateInput!) {
    updateWebhookEndpoint(id: $id, input: $input) {
      __typename
      ...WebhookEndpointFields
      ...UserErrorFields
    }
  }
`);

export const DeleteWebhookEndpointMutation = graphql(`
  mutation DeleteWebhookEndpoint($id: ID!) {
    deleteWebhookEndpoint(id: $id) {
      __typename
      ... on Deleted {
        deletedCount
      }
      ...UserErrorFields
    }
  }
`);

export const RotateWebhookSecretMutation = graphql(`
  mutation RotateWebhookSecret($id: ID!) {
    rotateWebhookSecret(id: $id) {
      __typename
      ... on CreatedWebhookEndpoint {
        secret
        endpoint {
          ...WebhookEndpointFields
        }
      }
      ...UserErrorFields
    }
  }
`);

export const SendTestWebhookMutation = graphql(`
  mutation SendTestWebhook($id: ID!) {
    sendTestWebhook(id: $id) {
      __typename
      ...WebhookDeliveryFields
      ...UserErrorFields
    }
  }
`);

export const RedeliverWebhookMutation = graphql(`
  mutation RedeliverWebhook($deliveryId: ID!) {
    redeliverWebhook(deliveryId: $deliveryId) {
      __typename
      ...WebhookDeliveryFields
      ...UserErrorFields
    }
  }
`);

export const EstimateCloneCostQuery = graphql(`
  query EstimateCloneCost($images: Int!, $trainingSteps: Int) {
    estimateCloneCost(images: $images, trainingSteps: $trainingSteps)
  }
`);
