using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace ModelCaching.AspNetCore.ProblemDetails;

/// <summary>
/// Answers the model cache's caller-facing exceptions with RFC 7807 problem details (<see cref="ModelCacheProblems"/>),
/// written by the application's <see cref="IProblemDetailsService"/> (so its <c>CustomizeProblemDetails</c> applies);
/// any other exception is left to the next handler. Registered by <c>AddModelCacheProblemDetails()</c>.
/// </summary>
internal sealed class ModelCacheExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (ModelCacheProblems.For(exception) is not { } problem)
        {
            return false;
        }

        httpContext.Response.StatusCode = problem.Status!.Value;
        if (problem.Status == StatusCodes.Status503ServiceUnavailable)
        {
            // The cache retries a failed load in the background (after its cool-down): a client may try again.
            httpContext.Response.Headers.RetryAfter = "5";
        }

        // A client that accepts no JSON gets the status code alone: the exception is still handled, not a 500.
        await problemDetails.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception }).ConfigureAwait(false);
        return true;
    }
}
