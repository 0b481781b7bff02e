using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ModelCaching.Samples.WebApi.Prediction;

/// <summary>
/// Reads a taxi trip from a request body for <c>POST /predict</c> and <c>POST /tenants/{id}/predict</c>, answering a
/// problem that names what is wrong: the content type, where the JSON breaks, or which fields are missing.
/// </summary>
internal static class TripReader
{
    /// <summary>The trip, or the problem to answer instead (exactly one of the three is set).</summary>
    internal readonly record struct Result(TaxiTrip? Trip, ProblemHttpResult? Problem, ValidationProblem? Invalid);

    /// <summary>
    /// Reads the body itself rather than letting minimal APIs bind it: the framework's binding failure is an
    /// empty 400, and a client deserves to be told which field is missing or where the JSON breaks.
    /// </summary>
    public static async Task<Result> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            return Problem(
                StatusCodes.Status415UnsupportedMediaType,
                "The request body must be JSON.",
                $"Send Content-Type: application/json (was '{request.ContentType ?? "none"}').");
        }

        FareRequest? fare;
        try
        {
            fare = await JsonSerializer.DeserializeAsync(request.Body, SampleJsonContext.Default.FareRequest, cancellationToken);
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel refused the body (over Limits:MaxRequestBodySize: 413, or a client that stopped sending):
            // the client's problem, answered with its status code rather than a 500 and an error in the log.
            return Problem(
                ex.StatusCode,
                ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? "The request body is too large." : "The request body could not be read.",
                ex.Message);
        }
        catch (JsonException ex)
        {
            // The message names the JSON path and the line and byte where reading stopped.
            return Problem(StatusCodes.Status400BadRequest, "The request body is not valid JSON for a taxi trip.", ex.Message);
        }

        if (fare is null)
        {
            return Problem(
                StatusCodes.Status400BadRequest,
                "The request body is empty.",
                "Send a JSON object with vendorId, rateCode, passengerCount, tripTime, tripDistance and paymentType.");
        }

        Dictionary<string, string[]> errors = fare.Validate();
        if (errors.Count > 0)
        {
            return new Result(null, null, TypedResults.ValidationProblem(errors, title: "The taxi trip is missing fields or has invalid values."));
        }

        return new Result(fare.ToTaxiTrip(), null, null);
    }

    private static Result Problem(int statusCode, string title, string detail) =>
        new(null, TypedResults.Problem(statusCode: statusCode, title: title, detail: detail), null);
}
