from collections.abc import AsyncIterator
from typing import Any, Optional, Union

from .base_client import AsyncBaseClient
from .base_model import UNSET, UnsetType, Upload
from .cancel_job import CancelJob
from .clone_events import CloneEvents
from .create_clone import CreateClone
from .enums import JobStatus
from .estimate_cost import EstimateCost
from .generate import Generate
from .get_clone import GetClone
from .get_job import GetJob
from .input_types import CreateCloneInput, GenerateInput
from .job_events import JobEvents
from .list_jobs import ListJobs
from .list_models import ListModels
from .me import Me


def gql(q: str) -> str:
    return q


class GeneratedClient(AsyncBaseClient):
    async def generate(
        self,
        input: GenerateInput,
        idempotency_key: Union[Optional[str], UnsetType] = UNSET,
        wait: Union[Optional[int], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> Generate:
        query = gql("""
            mutation Generate($input: GenerateInput!, $idempotencyKey: String, $wait: Int) {
              generate(input: $input, idempotencyKey: $idempotencyKey, wait: $wait) {
                __typename
                ...JobFields
                ...UserErrorFields
              }
            }

            fragment ImageFields on Image {
              url
              width
              height
              seed
              contentType
              expiresAt
              flagged
            }

            fragment JobFields on Job {
              id
              status
              source
              model
              priority
              queuePosition
              step
              totalSteps
              progress
              etaSeconds
              heldCredits
              costCredits
              error
              createdAt
              startedAt
              finishedAt
              images {
                ...ImageFields
              }
            }

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
              ... on InsufficientCredits {
                required
                available
              }
              ... on RateLimited {
                retryAfterSeconds
              }
              ... on SpendLimitReached {
                limit
                spent
                resetsAt
              }
            }
            """)
        variables: dict[str, object] = {
            "input": input,
            "idempotencyKey": idempotency_key,
            "wait": wait,
        }
        response = await self.execute(
            query=query, operation_name="Generate", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Generate.model_validate(data)

    async def cancel_job(self, id: str, **kwargs: Any) -> CancelJob:
        query = gql("""
            mutation CancelJob($id: ID!) {
              cancelJob(id: $id) {
                __typename
                ...JobFields
                ...UserErrorFields
              }
            }

            fragment ImageFields on Image {
              url
              width
              height
              seed
              contentType
              expiresAt
              flagged
            }

            fragment JobFields on Job {
              id
              status
              source
              model
              priority
              queuePosition
              step
              totalSteps
              progress
              etaSeconds
              heldCredits
              costCredits
              error
              createdAt
              startedAt
              finishedAt
              images {
                ...ImageFields
              }
            }

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
              ... on InsufficientCredits {
                required
                available
              }
              ... on RateLimited {
                retryAfterSeconds
              }
              ... on SpendLimitReached {
                limit
                spent
                resetsAt
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = await self.execute(
            query=query, operation_name="CancelJob", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return CancelJob.model_validate(data)

    async def create_clone(
        self, input: CreateCloneInput, images: list[Upload], **kwargs: Any
    ) -> CreateClone:
        query = gql("""
            mutation CreateClone($input: CreateCloneInput!, $images: [Upload!]!) {
              createClone(input: $input, images: $images) {
                __typename
                ...CloneFields
                ...UserErrorFields
              }
            }

            fragment CloneFields on Clone {
              id
              name
              triggerWord
              status
              progress
              sourceImagesDeleted
              error
              createdAt
              baseModel
            }

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
              ... on InsufficientCredits {
                required
                available
              }
              ... on RateLimited {
                retryAfterSeconds
              }
              ... on SpendLimitReached {
                limit
                spent
                resetsAt
              }
            }
            """)
        variables: dict[str, object] = {"input": input, "images": images}
        response = await self.execute(
            query=query, operation_name="CreateClone", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return CreateClone.model_validate(data)

    async def get_job(self, id: str, **kwargs: Any) -> GetJob:
        query = gql("""
            query GetJob($id: ID!) {
              job(id: $id) {
                ...JobFields
              }
            }

            fragment ImageFields on Image {
              url
              width
              height
              seed
              contentType
              expiresAt
              flagged
            }

            fragment JobFields on Job {
              id
              status
              source
              model
              priority
              queuePosition
              step
              totalSteps
              progress
              etaSeconds
              heldCredits
              costCredits
              error
              createdAt
              startedAt
              finishedAt
              images {
                ...ImageFields
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = await self.execute(
            query=query, operation_name="GetJob", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return GetJob.model_validate(data)

    async def list_jobs(
        self,
        first: Union[Optional[int], UnsetType] = UNSET,
        after: Union[Optional[str], UnsetType] = UNSET,
        status: Union[Optional[JobStatus], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> ListJobs:
        query = gql("""
            query ListJobs($first: Int, $after: String, $status: JobStatus) {
              jobs(first: $first, after: $after, status: $status) {
                edges {
                  cursor
                  node {
                    ...JobFields
                  }
                }
                pageInfo {
                  hasNextPage
                  endCursor
                }
              }
            }

            fragment ImageFields on Image {
              url
              width
              height
              seed
              contentType
              expiresAt
              flagged
            }

            fragment JobFields on Job {
              id
              status
              source
              model
              priority
              queuePosition
              step
              totalSteps
              progress
              etaSeconds
              heldCredits
              costCredits
              error
              createdAt
              startedAt
              finishedAt
              images {
                ...ImageFields
              }
            }
            """)
        variables: dict[str, object] = {
            "first": first,
            "after": after,
            "status": status,
        }
        response = await self.execute(
            query=query, operation_name="ListJobs", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return ListJobs.model_validate(data)

    async def get_clone(self, id: str, **kwargs: Any) -> GetClone:
        query = gql("""
            query GetClone($id: ID!) {
              clone(id: $id) {
                ...CloneFields
              }
            }

            fragment CloneFields on Clone {
              id
              name
              triggerWord
              status
              progress
              sourceImagesDeleted
              error
              createdAt
              baseModel
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = await self.execute(
            query=query, operation_name="GetClone", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return GetClone.model_validate(data)

    async def list_models(self, **kwargs: Any) -> ListModels:
        query = gql("""
            query ListModels {
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
            """)
        variables: dict[str, object] = {}
        response = await self.execute(
            query=query, operation_name="ListModels", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return ListModels.model_validate(data)

    async def estimate_cost(self, input: GenerateInput, **kwargs: Any) -> EstimateCost:
        query = gql("""
            query EstimateCost($input: GenerateInput!) {
              estimateCost(input: $input)
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = await self.execute(
            query=query, operation_name="EstimateCost", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return EstimateCost.model_validate(data)

    async def me(self, **kwargs: Any) -> Me:
        query = gql("""
            query Me {
              me {
                id
                email
                credits
                heldCredits
              }
            }
            """)
        variables: dict[str, object] = {}
        response = await self.execute(
            query=query, operation_name="Me", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Me.model_validate(data)

    async def job_events(
        self,
        job_id: str,
        after_seq: Union[Optional[int], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> AsyncIterator[JobEvents]:
        query = gql("""
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
                  ...ImageFields
                }
                images {
                  ...ImageFields
                }
                error
              }
            }

            fragment ImageFields on Image {
              url
              width
              height
              seed
              contentType
              expiresAt
              flagged
            }
            """)
        variables: dict[str, object] = {"jobId": job_id, "afterSeq": after_seq}
        async for data in self.execute_ws(
            query=query, operation_name="JobEvents", variables=variables, **kwargs
        ):
            yield JobEvents.model_validate(data)

    async def clone_events(
        self, clone_id: str, **kwargs: Any
    ) -> AsyncIterator[CloneEvents]:
        query = gql("""
            subscription CloneEvents($cloneId: ID!) {
              cloneEvents(cloneId: $cloneId) {
                ...CloneFields
              }
            }

            fragment CloneFields on Clone {
              id
              name
              triggerWord
              status
              progress
              sourceImagesDeleted
              error
              createdAt
              baseModel
            }
            """)
        variables: dict[str, object] = {"cloneId": clone_id}
        async for data in self.execute_ws(
            query=query, operation_name="CloneEvents", variables=variables, **kwargs
        ):
            yield CloneEvents.model_validate(data)
