/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
const documents = {
    "\n  fragment UserErrorFields on UserError {\n    code\n    message\n    ... on InvalidInput {\n      fields\n      errors {\n        field\n        message\n      }\n    }\n  }\n": types.UserErrorFieldsFragmentDoc,
    "\n  fragment AccountFields on Account {\n    id\n    email\n    name\n    credits\n    heldCredits\n    marketingOptIn\n    emailVerified\n    pendingEmail\n    lowCreditThreshold\n    emailNotices\n    createdAt\n  }\n": types.AccountFieldsFragmentDoc,
    "\n  fragment JobFields on Job {\n    id\n    status\n    source\n    queuePosition\n    step\n    totalSteps\n    progress\n    etaSeconds\n    heldCredits\n    costCredits\n    model\n    priority\n    error\n    createdAt\n    startedAt\n    finishedAt\n    params {\n      prompt\n      negativePrompt\n      width\n      height\n      steps\n      guidanceScale\n      seed\n      numImages\n      cloneId\n      model\n      mode\n      scheduler\n      strength\n      adapters {\n        cloneId\n        weight\n      }\n      priority\n    }\n    images {\n      url\n      width\n      height\n      seed\n      contentType\n      flagged\n    }\n  }\n": types.JobFieldsFragmentDoc,
    "\n  fragment CloneFields on Clone {\n    id\n    name\n    triggerWord\n    status\n    progress\n    sourceImagesDeleted\n    error\n    createdAt\n    step\n    totalSteps\n    loss\n    imageCount\n    baseModel\n  }\n": types.CloneFieldsFragmentDoc,
    "\n  query Me {\n    me {\n      ...AccountFields\n    }\n  }\n": types.MeDocument,
    "\n  mutation SignUp($input: SignUpInput!) {\n    signUp(input: $input) {\n      __typename\n      ... on Session {\n        account {\n          ...AccountFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n": types.SignUpDocument,
    "\n  mutation LogIn($email: String!, $password: String!) {\n    logIn(email: $email, password: $password) {\n      __typename\n      ... on Session {\n        account {\n          ...AccountFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n": types.LogInDocument,
    "\n  mutation LogOut {\n    logOut\n  }\n": types.LogOutDocument,
    "\n  mutation UpdateProfile($input: ProfileInput!) {\n    updateProfile(input: $input) {\n      __typename\n      ...AccountFields\n      ...UserErrorFields\n    }\n  }\n": types.UpdateProfileDocument,
    "\n  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {\n    changePassword(currentPassword: $currentPassword, newPassword: $newPassword) {\n      __typename\n      ...UserErrorFields\n    }\n  }\n": types.ChangePasswordDocument,
    "\n  mutation SetMarketingOptIn($optIn: Boolean!) {\n    setMarketingOptIn(optIn: $optIn) {\n      __typename\n      ...AccountFields\n      ...UserErrorFields\n    }\n  }\n": types.SetMarketingOptInDocument,
    "\n  query Models {\n    models {\n      id\n      name\n      description\n      family\n      nativeWidth\n      nativeHeight\n      maxWidth\n      maxHeight\n      defaultSteps\n      maxSteps\n      modes\n      schedulers\n      supportsClones\n      creditsPerImage\n      batchCreditsPerImage\n      state\n      isDefault\n    }\n  }\n": types.ModelsDocument,
    "\n  query EstimateCost($input: GenerateInput!) {\n    estimateCost(input: $input)\n  }\n": types.EstimateCostDocument,
    "\n  mutation Generate($input: GenerateInput!, $idempotencyKey: String) {\n    generate(input: $input, idempotencyKey: $idempotencyKey) {\n      __typename\n      ...JobFields\n      ...UserErrorFields\n      ... on InsufficientCredits {\n        required\n        available\n      }\n      ... on RateLimited {\n        retryAfterSeconds\n      }\n    }\n  }\n": types.GenerateDocument,
    "\n  mutation CancelJob($id: ID!) {\n    cancelJob(id: $id) {\n      __typename\n      ...JobFields\n      ...UserErrorFields\n    }\n  }\n": types.CancelJobDocument,
    "\n  query Job($id: ID!) {\n    job(id: $id) {\n      ...JobFields\n    }\n  }\n": types.JobDocument,
    "\n  subscription JobEvents($jobId: ID!, $afterSeq: Int) {\n    jobEvents(jobId: $jobId, afterSeq: $afterSeq) {\n      seq\n      jobId\n      type\n      status\n      queuePosition\n      step\n      totalSteps\n      progress\n      etaSeconds\n      preview {\n        url\n        width\n        height\n      }\n      images {\n        url\n        width\n        height\n        seed\n        contentType\n        flagged\n      }\n      error\n    }\n  }\n": types.JobEventsDocument,
    "\n  query History($first: Int, $after: String) {\n    history(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          createdAt\n          job {\n            ...JobFields\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.HistoryDocument,
    "\n  mutation DeleteHistoryItem($id: ID!) {\n    deleteHistoryItem(id: $id) {\n      __typename\n      ... on Deleted {\n        deletedCount\n      }\n      ...UserErrorFields\n    }\n  }\n": types.DeleteHistoryItemDocument,
    "\n  mutation ClearHistory {\n    clearHistory {\n      __typename\n      ... on Deleted {\n        deletedCount\n      }\n      ...UserErrorFields\n    }\n  }\n": types.ClearHistoryDocument,
    "\n  fragment ApiKeyFields on ApiKey {\n    id\n    name\n    prefix\n    scopes\n    createdAt\n    lastUsedAt\n    revokedAt\n    spendLimit {\n      credits\n      period\n      spent\n      resetsAt\n    }\n  }\n": types.ApiKeyFieldsFragmentDoc,
    "\n  query ApiKeys {\n    apiKeys {\n      ...ApiKeyFields\n    }\n  }\n": types.ApiKeysDocument,
    "\n  mutation CreateApiKey($name: String!, $scopes: [ApiKeyScope!]) {\n    createApiKey(name: $name, scopes: $scopes) {\n      __typename\n      ... on CreatedApiKey {\n        secret\n        apiKey {\n          ...ApiKeyFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n": types.CreateApiKeyDocument,
    "\n  mutation RevokeApiKey($id: ID!) {\n    revokeApiKey(id: $id) {\n      __typename\n      ...ApiKeyFields\n      ...UserErrorFields\n    }\n  }\n": types.RevokeApiKeyDocument,
    "\n  mutation RegenerateApiKey($id: ID!) {\n    regenerateApiKey(id: $id) {\n      __typename\n      ... on CreatedApiKey {\n        secret\n        apiKey {\n          ...ApiKeyFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n": types.RegenerateApiKeyDocument,
    "\n  query Ledger($first: Int, $after: String) {\n    me {\n      ...AccountFields\n    }\n    creditLedger(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          kind\n          amount\n          balanceAfter\n          heldChange\n          jobId\n          createdAt\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.LedgerDocument,
    "\n  mutation CreateCheckout($credits: Int!) {\n    createCheckout(credits: $credits) {\n      __typename\n      ... on Checkout {\n        url\n        credits\n      }\n      ...UserErrorFields\n    }\n  }\n": types.CreateCheckoutDocument,
    "\n  query Clones {\n    clones {\n      ...CloneFields\n    }\n  }\n": types.ClonesDocument,
    "\n  mutation CreateClone($input: CreateCloneInput!, $images: [Upload!]!) {\n    createClone(input: $input, images: $images) {\n      __typename\n      ...CloneFields\n      ...UserErrorFields\n      ... on InsufficientCredits {\n        required\n        available\n      }\n    }\n  }\n": types.CreateCloneDocument,
    "\n  mutation DeleteClone($id: ID!) {\n    deleteClone(id: $id) {\n      __typename\n      ...UserErrorFields\n    }\n  }\n": types.DeleteCloneDocument,
    "\n  subscription CloneEvents($cloneId: ID!) {\n    cloneEvents(cloneId: $cloneId) {\n      ...CloneFields\n    }\n  }\n": types.CloneEventsDocument,
    "\n  query Usage($since: DateTime!) {\n    usage(since: $since) {\n      day\n      requests\n      images\n      credits\n    }\n  }\n": types.UsageDocument,
    "\n  mutation RequestDataExport {\n    requestDataExport {\n      __typename\n      ... on DataExport {\n        id\n        status\n        url\n        expiresAt\n      }\n      ...UserErrorFields\n    }\n  }\n": types.RequestDataExportDocument,
    "\n  query DataExport($id: ID!) {\n    dataExport(id: $id) {\n      id\n      status\n      url\n      expiresAt\n    }\n  }\n": types.DataExportDocument,
    "\n  mutation DeleteAccount($password: String!) {\n    deleteAccount(password: $password) {\n      __typename\n      ...UserErrorFields\n    }\n  }\n": types.DeleteAccountDocument,
    "\n  mutation VerifyEmail($token: String!) {\n    verifyEmail(token: $token) {\n      __typename\n      ... on Account {\n        ...AccountFields\n      }\n      ...UserErrorFields\n    }\n  }\n": types.VerifyEmailDocument,
    "\n  mutation RequestEmailVerification {\n    requestEmailVerification {\n      __typename\n      ... on Accepted {\n        message\n      }\n      ...UserErrorFields\n    }\n  }\n": types.RequestEmailVerificationDocument,
    "\n  mutation RequestPasswordReset($email: String!) {\n    requestPasswordReset(email: $email) {\n      __typename\n      ... on Accepted {\n        message\n      }\n      ...UserErrorFields\n    }\n  }\n": types.RequestPasswordResetDocument,
    "\n  mutation ResetPassword($token: String!, $newPassword: String!) {\n    resetPassword(token: $token, newPassword: $newPassword) {\n      __typename\n      ... on Session {\n        account {\n          ...AccountFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n": types.ResetPasswordDocument,
    "\n  mutation SetApiKeySpendLimit($id: ID!, $limit: SpendLimitInput!) {\n    setApiKeySpendLimit(id: $id, limit: $limit) {\n      __typename\n      ...ApiKeyFields\n      ...UserErrorFields\n    }\n  }\n": types.SetApiKeySpendLimitDocument,
    "\n  mutation SetEmailNotice($notice: EmailNotice!, $enabled: Boolean!) {\n    setEmailNotice(notice: $notice, enabled: $enabled) {\n      __typename\n      ...AccountFields\n      ...UserErrorFields\n    }\n  }\n": types.SetEmailNoticeDocument,
    "\n  query CreditPrice {\n    creditPrice {\n      available\n      unavailableReason\n      unitAmount\n      currency\n      minCredits\n      maxCredits\n    }\n  }\n": types.CreditPriceDocument,
    "\n  fragment WebhookEndpointFields on WebhookEndpoint {\n    id\n    url\n    description\n    events\n    enabled\n    disabledReason\n    createdAt\n  }\n": types.WebhookEndpointFieldsFragmentDoc,
    "\n  fragment WebhookDeliveryFields on WebhookDelivery {\n    id\n    endpointId\n    eventId\n    eventType\n    status\n    attempts\n    responseStatus\n    durationMs\n    nextAttemptAt\n    createdAt\n    lastAttemptAt\n  }\n": types.WebhookDeliveryFieldsFragmentDoc,
    "\n  query WebhookEndpoints {\n    webhookEndpoints {\n      ...WebhookEndpointFields\n    }\n  }\n": types.WebhookEndpointsDocument,
    "\n  query WebhookDeliveries($endpointId: ID!, $first: Int, $after: String) {\n    webhookDeliveries(endpointId: $endpointId, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...WebhookDeliveryFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.WebhookDeliveriesDocument,
    "\n  mutation CreateWebhookEndpoint($input: WebhookEndpointInput!) {\n    createWebhookEndpoint(input: $input) {\n      __typename\n      ... on CreatedWebhookEndpoint {\n        secret\n        endpoint {\n          ...WebhookEndpointFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n": types.CreateWebhookEndpointDocument,
    "\n  mutation UpdateWebhookEndpoint($id: ID!, $input: WebhookEndpointUpdateInput!) {\n    updateWebhookEndpoint(id: $id, input: $input) {\n      __typename\n      ...WebhookEndpointFields\n      ...UserErrorFields\n    }\n  }\n": types.UpdateWebhookEndpointDocument,
    "\n  mutation DeleteWebhookEndpoint($id: ID!) {\n    deleteWebhookEndpoint(id: $id) {\n      __typename\n      ... on Deleted {\n        deletedCount\n      }\n      ...UserErrorFields\n    }\n  }\n": types.DeleteWebhookEndpointDocument,
    "\n  mutation RotateWebhookSecret($id: ID!) {\n    rotateWebhookSecret(id: $id) {\n      __typename\n      ... on CreatedWebhookEndpoint {\n        secret\n        endpoint {\n          ...WebhookEndpointFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n": types.RotateWebhookSecretDocument,
    "\n  mutation SendTestWebhook($id: ID!) {\n    sendTestWebhook(id: $id) {\n      __typename\n      ...WebhookDeliveryFields\n      ...UserErrorFields\n    }\n  }\n": types.SendTestWebhookDocument,
    "\n  mutation RedeliverWebhook($deliveryId: ID!) {\n    redeliverWebhook(deliveryId: $deliveryId) {\n      __typename\n      ...WebhookDeliveryFields\n      ...UserErrorFields\n    }\n  }\n": types.RedeliverWebhookDocument,
    "\n  query EstimateCloneCost($images: Int!, $trainingSteps: Int) {\n    estimateCloneCost(images: $images, trainingSteps: $trainingSteps)\n  }\n": types.EstimateCloneCostDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment UserErrorFields on UserError {\n    code\n    message\n    ... on InvalidInput {\n      fields\n      errors {\n        field\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  fragment UserErrorFields on UserError {\n    code\n    message\n    ... on InvalidInput {\n      fields\n      errors {\n        field\n        message\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment AccountFields on Account {\n    id\n    email\n    name\n    credits\n    heldCredits\n    marketingOptIn\n    emailVerified\n    pendingEmail\n    lowCreditThreshold\n    emailNotices\n    createdAt\n  }\n"): (typeof documents)["\n  fragment AccountFields on Account {\n    id\n    email\n    name\n    credits\n    heldCredits\n    marketingOptIn\n    emailVerified\n    pendingEmail\n    lowCreditThreshold\n    emailNotices\n    createdAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment JobFields on Job {\n    id\n    status\n    source\n    queuePosition\n    step\n    totalSteps\n    progress\n    etaSeconds\n    heldCredits\n    costCredits\n    model\n    priority\n    error\n    createdAt\n    startedAt\n    finishedAt\n    params {\n      prompt\n      negativePrompt\n      width\n      height\n      steps\n      guidanceScale\n      seed\n      numImages\n      cloneId\n      model\n      mode\n      scheduler\n      strength\n      adapters {\n        cloneId\n        weight\n      }\n      priority\n    }\n    images {\n      url\n      width\n      height\n      seed\n      contentType\n      flagged\n    }\n  }\n"): (typeof documents)["\n  fragment JobFields on Job {\n    id\n    status\n    source\n    queuePosition\n    step\n    totalSteps\n    progress\n    etaSeconds\n    heldCredits\n    costCredits\n    model\n    priority\n    error\n    createdAt\n    startedAt\n    finishedAt\n    params {\n      prompt\n      negativePrompt\n      width\n      height\n      steps\n      guidanceScale\n      seed\n      numImages\n      cloneId\n      model\n      mode\n      scheduler\n      strength\n      adapters {\n        cloneId\n        weight\n      }\n      priority\n    }\n    images {\n      url\n      width\n      height\n      seed\n      contentType\n      flagged\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment CloneFields on Clone {\n    id\n    name\n    triggerWord\n    status\n    progress\n    sourceImagesDeleted\n    error\n    createdAt\n    step\n    totalSteps\n    loss\n    imageCount\n    baseModel\n  }\n"): (typeof documents)["\n  fragment CloneFields on Clone {\n    id\n    name\n    triggerWord\n    status\n    progress\n    sourceImagesDeleted\n    error\n    createdAt\n    step\n    totalSteps\n    loss\n    imageCount\n    baseModel\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me {\n      ...AccountFields\n    }\n  }\n"): (typeof documents)["\n  query Me {\n    me {\n      ...AccountFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SignUp($input: SignUpInput!) {\n    signUp(input: $input) {\n      __typename\n      ... on Session {\n        account {\n          ...AccountFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation SignUp($input: SignUpInput!) {\n    signUp(input: $input) {\n      __typename\n      ... on Session {\n        account {\n          ...AccountFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LogIn($email: String!, $password: String!) {\n    logIn(email: $email, password: $password) {\n      __typename\n      ... on Session {\n        account {\n          ...AccountFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation LogIn($email: String!, $password: String!) {\n    logIn(email: $email, password: $password) {\n      __typename\n      ... on Session {\n        account {\n          ...AccountFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LogOut {\n    logOut\n  }\n"): (typeof documents)["\n  mutation LogOut {\n    logOut\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateProfile($input: ProfileInput!) {\n    updateProfile(input: $input) {\n      __typename\n      ...AccountFields\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateProfile($input: ProfileInput!) {\n    updateProfile(input: $input) {\n      __typename\n      ...AccountFields\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {\n    changePassword(currentPassword: $currentPassword, newPassword: $newPassword) {\n      __typename\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {\n    changePassword(currentPassword: $currentPassword, newPassword: $newPassword) {\n      __typename\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetMarketingOptIn($optIn: Boolean!) {\n    setMarketingOptIn(optIn: $optIn) {\n      __typename\n      ...AccountFields\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation SetMarketingOptIn($optIn: Boolean!) {\n    setMarketingOptIn(optIn: $optIn) {\n      __typename\n      ...AccountFields\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Models {\n    models {\n      id\n      name\n      description\n      family\n      nativeWidth\n      nativeHeight\n      maxWidth\n      maxHeight\n      defaultSteps\n      maxSteps\n      modes\n      schedulers\n      supportsClones\n      creditsPerImage\n      batchCreditsPerImage\n      state\n      isDefault\n    }\n  }\n"): (typeof documents)["\n  query Models {\n    models {\n      id\n      name\n      description\n      family\n      nativeWidth\n      nativeHeight\n      maxWidth\n      maxHeight\n      defaultSteps\n      maxSteps\n      modes\n      schedulers\n      supportsClones\n      creditsPerImage\n      batchCreditsPerImage\n      state\n      isDefault\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query EstimateCost($input: GenerateInput!) {\n    estimateCost(input: $input)\n  }\n"): (typeof documents)["\n  query EstimateCost($input: GenerateInput!) {\n    estimateCost(input: $input)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Generate($input: GenerateInput!, $idempotencyKey: String) {\n    generate(input: $input, idempotencyKey: $idempotencyKey) {\n      __typename\n      ...JobFields\n      ...UserErrorFields\n      ... on InsufficientCredits {\n        required\n        available\n      }\n      ... on RateLimited {\n        retryAfterSeconds\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation Generate($input: GenerateInput!, $idempotencyKey: String) {\n    generate(input: $input, idempotencyKey: $idempotencyKey) {\n      __typename\n      ...JobFields\n      ...UserErrorFields\n      ... on InsufficientCredits {\n        required\n        available\n      }\n      ... on RateLimited {\n        retryAfterSeconds\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelJob($id: ID!) {\n    cancelJob(id: $id) {\n      __typename\n      ...JobFields\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation CancelJob($id: ID!) {\n    cancelJob(id: $id) {\n      __typename\n      ...JobFields\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Job($id: ID!) {\n    job(id: $id) {\n      ...JobFields\n    }\n  }\n"): (typeof documents)["\n  query Job($id: ID!) {\n    job(id: $id) {\n      ...JobFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription JobEvents($jobId: ID!, $afterSeq: Int) {\n    jobEvents(jobId: $jobId, afterSeq: $afterSeq) {\n      seq\n      jobId\n      type\n      status\n      queuePosition\n      step\n      totalSteps\n      progress\n      etaSeconds\n      preview {\n        url\n        width\n        height\n      }\n      images {\n        url\n        width\n        height\n        seed\n        contentType\n        flagged\n      }\n      error\n    }\n  }\n"): (typeof documents)["\n  subscription JobEvents($jobId: ID!, $afterSeq: Int) {\n    jobEvents(jobId: $jobId, afterSeq: $afterSeq) {\n      seq\n      jobId\n      type\n      status\n      queuePosition\n      step\n      totalSteps\n      progress\n      etaSeconds\n      preview {\n        url\n        width\n        height\n      }\n      images {\n        url\n        width\n        height\n        seed\n        contentType\n        flagged\n      }\n      error\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query History($first: Int, $after: String) {\n    history(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          createdAt\n          job {\n            ...JobFields\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query History($first: Int, $after: String) {\n    history(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          createdAt\n          job {\n            ...JobFields\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteHistoryItem($id: ID!) {\n    deleteHistoryItem(id: $id) {\n      __typename\n      ... on Deleted {\n        deletedCount\n      }\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation DeleteHistoryItem($id: ID!) {\n    deleteHistoryItem(id: $id) {\n      __typename\n      ... on Deleted {\n        deletedCount\n      }\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ClearHistory {\n    clearHistory {\n      __typename\n      ... on Deleted {\n        deletedCount\n      }\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation ClearHistory {\n    clearHistory {\n      __typename\n      ... on Deleted {\n        deletedCount\n      }\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ApiKeyFields on ApiKey {\n    id\n    name\n    prefix\n    scopes\n    createdAt\n    lastUsedAt\n    revokedAt\n    spendLimit {\n      credits\n      period\n      spent\n      resetsAt\n    }\n  }\n"): (typeof documents)["\n  fragment ApiKeyFields on ApiKey {\n    id\n    name\n    prefix\n    scopes\n    createdAt\n    lastUsedAt\n    revokedAt\n    spendLimit {\n      credits\n      period\n      spent\n      resetsAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ApiKeys {\n    apiKeys {\n      ...ApiKeyFields\n    }\n  }\n"): (typeof documents)["\n  query ApiKeys {\n    apiKeys {\n      ...ApiKeyFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateApiKey($name: String!, $scopes: [ApiKeyScope!]) {\n    createApiKey(name: $name, scopes: $scopes) {\n      __typename\n      ... on CreatedApiKey {\n        secret\n        apiKey {\n          ...ApiKeyFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation CreateApiKey($name: String!, $scopes: [ApiKeyScope!]) {\n    createApiKey(name: $name, scopes: $scopes) {\n      __typename\n      ... on CreatedApiKey {\n        secret\n        apiKey {\n          ...ApiKeyFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevokeApiKey($id: ID!) {\n    revokeApiKey(id: $id) {\n      __typename\n      ...ApiKeyFields\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation RevokeApiKey($id: ID!) {\n    revokeApiKey(id: $id) {\n      __typename\n      ...ApiKeyFields\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RegenerateApiKey($id: ID!) {\n    regenerateApiKey(id: $id) {\n      __typename\n      ... on CreatedApiKey {\n        secret\n        apiKey {\n          ...ApiKeyFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation RegenerateApiKey($id: ID!) {\n    regenerateApiKey(id: $id) {\n      __typename\n      ... on CreatedApiKey {\n        secret\n        apiKey {\n          ...ApiKeyFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Ledger($first: Int, $after: String) {\n    me {\n      ...AccountFields\n    }\n    creditLedger(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          kind\n          amount\n          balanceAfter\n          heldChange\n          jobId\n          createdAt\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query Ledger($first: Int, $after: String) {\n    me {\n      ...AccountFields\n    }\n    creditLedger(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          kind\n          amount\n          balanceAfter\n          heldChange\n          jobId\n          createdAt\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateCheckout($credits: Int!) {\n    createCheckout(credits: $credits) {\n      __typename\n      ... on Checkout {\n        url\n        credits\n      }\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation CreateCheckout($credits: Int!) {\n    createCheckout(credits: $credits) {\n      __typename\n      ... on Checkout {\n        url\n        credits\n      }\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Clones {\n    clones {\n      ...CloneFields\n    }\n  }\n"): (typeof documents)["\n  query Clones {\n    clones {\n      ...CloneFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateClone($input: CreateCloneInput!, $images: [Upload!]!) {\n    createClone(input: $input, images: $images) {\n      __typename\n      ...CloneFields\n      ...UserErrorFields\n      ... on InsufficientCredits {\n        required\n        available\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateClone($input: CreateCloneInput!, $images: [Upload!]!) {\n    createClone(input: $input, images: $images) {\n      __typename\n      ...CloneFields\n      ...UserErrorFields\n      ... on InsufficientCredits {\n        required\n        available\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteClone($id: ID!) {\n    deleteClone(id: $id) {\n      __typename\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation DeleteClone($id: ID!) {\n    deleteClone(id: $id) {\n      __typename\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription CloneEvents($cloneId: ID!) {\n    cloneEvents(cloneId: $cloneId) {\n      ...CloneFields\n    }\n  }\n"): (typeof documents)["\n  subscription CloneEvents($cloneId: ID!) {\n    cloneEvents(cloneId: $cloneId) {\n      ...CloneFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Usage($since: DateTime!) {\n    usage(since: $since) {\n      day\n      requests\n      images\n      credits\n    }\n  }\n"): (typeof documents)["\n  query Usage($since: DateTime!) {\n    usage(since: $since) {\n      day\n      requests\n      images\n      credits\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RequestDataExport {\n    requestDataExport {\n      __typename\n      ... on DataExport {\n        id\n        status\n        url\n        expiresAt\n      }\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation RequestDataExport {\n    requestDataExport {\n      __typename\n      ... on DataExport {\n        id\n        status\n        url\n        expiresAt\n      }\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query DataExport($id: ID!) {\n    dataExport(id: $id) {\n      id\n      status\n      url\n      expiresAt\n    }\n  }\n"): (typeof documents)["\n  query DataExport($id: ID!) {\n    dataExport(id: $id) {\n      id\n      status\n      url\n      expiresAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteAccount($password: String!) {\n    deleteAccount(password: $password) {\n      __typename\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation DeleteAccount($password: String!) {\n    deleteAccount(password: $password) {\n      __typename\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation VerifyEmail($token: String!) {\n    verifyEmail(token: $token) {\n      __typename\n      ... on Account {\n        ...AccountFields\n      }\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation VerifyEmail($token: String!) {\n    verifyEmail(token: $token) {\n      __typename\n      ... on Account {\n        ...AccountFields\n      }\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RequestEmailVerification {\n    requestEmailVerification {\n      __typename\n      ... on Accepted {\n        message\n      }\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation RequestEmailVerification {\n    requestEmailVerification {\n      __typename\n      ... on Accepted {\n        message\n      }\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RequestPasswordReset($email: String!) {\n    requestPasswordReset(email: $email) {\n      __typename\n      ... on Accepted {\n        message\n      }\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation RequestPasswordReset($email: String!) {\n    requestPasswordReset(email: $email) {\n      __typename\n      ... on Accepted {\n        message\n      }\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ResetPassword($token: String!, $newPassword: String!) {\n    resetPassword(token: $token, newPassword: $newPassword) {\n      __typename\n      ... on Session {\n        account {\n          ...AccountFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation ResetPassword($token: String!, $newPassword: String!) {\n    resetPassword(token: $token, newPassword: $newPassword) {\n      __typename\n      ... on Session {\n        account {\n          ...AccountFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetApiKeySpendLimit($id: ID!, $limit: SpendLimitInput!) {\n    setApiKeySpendLimit(id: $id, limit: $limit) {\n      __typename\n      ...ApiKeyFields\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation SetApiKeySpendLimit($id: ID!, $limit: SpendLimitInput!) {\n    setApiKeySpendLimit(id: $id, limit: $limit) {\n      __typename\n      ...ApiKeyFields\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetEmailNotice($notice: EmailNotice!, $enabled: Boolean!) {\n    setEmailNotice(notice: $notice, enabled: $enabled) {\n      __typename\n      ...AccountFields\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation SetEmailNotice($notice: EmailNotice!, $enabled: Boolean!) {\n    setEmailNotice(notice: $notice, enabled: $enabled) {\n      __typename\n      ...AccountFields\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query CreditPrice {\n    creditPrice {\n      available\n      unavailableReason\n      unitAmount\n      currency\n      minCredits\n      maxCredits\n    }\n  }\n"): (typeof documents)["\n  query CreditPrice {\n    creditPrice {\n      available\n      unavailableReason\n      unitAmount\n      currency\n      minCredits\n      maxCredits\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment WebhookEndpointFields on WebhookEndpoint {\n    id\n    url\n    description\n    events\n    enabled\n    disabledReason\n    createdAt\n  }\n"): (typeof documents)["\n  fragment WebhookEndpointFields on WebhookEndpoint {\n    id\n    url\n    description\n    events\n    enabled\n    disabledReason\n    createdAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment WebhookDeliveryFields on WebhookDelivery {\n    id\n    endpointId\n    eventId\n    eventType\n    status\n    attempts\n    responseStatus\n    durationMs\n    nextAttemptAt\n    createdAt\n    lastAttemptAt\n  }\n"): (typeof documents)["\n  fragment WebhookDeliveryFields on WebhookDelivery {\n    id\n    endpointId\n    eventId\n    eventType\n    status\n    attempts\n    responseStatus\n    durationMs\n    nextAttemptAt\n    createdAt\n    lastAttemptAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WebhookEndpoints {\n    webhookEndpoints {\n      ...WebhookEndpointFields\n    }\n  }\n"): (typeof documents)["\n  query WebhookEndpoints {\n    webhookEndpoints {\n      ...WebhookEndpointFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WebhookDeliveries($endpointId: ID!, $first: Int, $after: String) {\n    webhookDeliveries(endpointId: $endpointId, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...WebhookDeliveryFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query WebhookDeliveries($endpointId: ID!, $first: Int, $after: String) {\n    webhookDeliveries(endpointId: $endpointId, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...WebhookDeliveryFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateWebhookEndpoint($input: WebhookEndpointInput!) {\n    createWebhookEndpoint(input: $input) {\n      __typename\n      ... on CreatedWebhookEndpoint {\n        secret\n        endpoint {\n          ...WebhookEndpointFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation CreateWebhookEndpoint($input: WebhookEndpointInput!) {\n    createWebhookEndpoint(input: $input) {\n      __typename\n      ... on CreatedWebhookEndpoint {\n        secret\n        endpoint {\n          ...WebhookEndpointFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateWebhookEndpoint($id: ID!, $input: WebhookEndpointUpdateInput!) {\n    updateWebhookEndpoint(id: $id, input: $input) {\n      __typename\n      ...WebhookEndpointFields\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateWebhookEndpoint($id: ID!, $input: WebhookEndpointUpdateInput!) {\n    updateWebhookEndpoint(id: $id, input: $input) {\n      __typename\n      ...WebhookEndpointFields\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteWebhookEndpoint($id: ID!) {\n    deleteWebhookEndpoint(id: $id) {\n      __typename\n      ... on Deleted {\n        deletedCount\n      }\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation DeleteWebhookEndpoint($id: ID!) {\n    deleteWebhookEndpoint(id: $id) {\n      __typename\n      ... on Deleted {\n        deletedCount\n      }\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RotateWebhookSecret($id: ID!) {\n    rotateWebhookSecret(id: $id) {\n      __typename\n      ... on CreatedWebhookEndpoint {\n        secret\n        endpoint {\n          ...WebhookEndpointFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation RotateWebhookSecret($id: ID!) {\n    rotateWebhookSecret(id: $id) {\n      __typename\n      ... on CreatedWebhookEndpoint {\n        secret\n        endpoint {\n          ...WebhookEndpointFields\n        }\n      }\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SendTestWebhook($id: ID!) {\n    sendTestWebhook(id: $id) {\n      __typename\n      ...WebhookDeliveryFields\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation SendTestWebhook($id: ID!) {\n    sendTestWebhook(id: $id) {\n      __typename\n      ...WebhookDeliveryFields\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RedeliverWebhook($deliveryId: ID!) {\n    redeliverWebhook(deliveryId: $deliveryId) {\n      __typename\n      ...WebhookDeliveryFields\n      ...UserErrorFields\n    }\n  }\n"): (typeof documents)["\n  mutation RedeliverWebhook($deliveryId: ID!) {\n    redeliverWebhook(deliveryId: $deliveryId) {\n      __typename\n      ...WebhookDeliveryFields\n      ...UserErrorFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query EstimateCloneCost($images: Int!, $trainingSteps: Int) {\n    estimateCloneCost(images: $images, trainingSteps: $trainingSteps)\n  }\n"): (typeof documents)["\n  query EstimateCloneCost($images: Int!, $trainingSteps: Int) {\n    estimateCloneCost(images: $images, trainingSteps: $trainingSteps)\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;