using ModelCaching.Fleet;
using Microsoft.AspNetCore.Http;
using MvcProblemDetails = Microsoft.AspNetCore.Mvc.ProblemDetails;

namespace ModelCaching.AspNetCore.ProblemDetails;

/// <summary>
/// The RFC 7807 problem for each failure a caller's model name can meet: an unknown name (404), a template's name with
/// no model at its source (404), a name that breaks the rule for names (400), a placed name another instance owns (421),
/// a model that cannot serve now (503).
/// Each names the model and the cause; the <c>type</c> links the status code's section of RFC 9110, as ASP.NET Core does.
/// </summary>
internal static class ModelCacheProblems
{
    /// <summary>The most names a 404 lists: with thousands of template models, the list is a sample, not an inventory.</summary>
    internal const int MaxKnownModelsShown = 100;

    /// <summary>The problem for <paramref name="exception"/>, or <see langword="null"/> when it is not one of the model cache's.</summary>
    public static MvcProblemDetails? For(Exception exception) => exception switch
    {
        ModelNotFoundException notFound => NotFound(notFound),
        InvalidModelNameException invalid => InvalidName(invalid),
        TemplateModelNotFoundException missing => Problem(
            StatusCodes.Status404NotFound,
            $"There is no model named '{Shorten(missing.ModelName)}'.",
            $"Template '{missing.TemplateName}' serves the name '{Shorten(missing.ModelName)}', but no model is published for it at the template's source.",
            missing.ModelName,
            "the template's source has no model of that name (the path is in the server's log, not shown to callers)",
            ("template", missing.TemplateName)),
        ModelNotOwnedException notOwned => NotOwned(notOwned),
        ModelLoadException unavailable => Problem(
            StatusCodes.Status503ServiceUnavailable,
            $"Model '{Shorten(unavailable.ModelName)}' is not available.",
            $"{unavailable.Message} No version of it is serving; it is retried in the background, and a later request may succeed.",
            unavailable.ModelName,
            unavailable.Cause),
        ModelBudgetException tooLarge => Problem(
            StatusCodes.Status503ServiceUnavailable,
            $"Model '{Shorten(tooLarge.ModelName)}' is not available.",
            tooLarge.Message,
            tooLarge.ModelName,
            tooLarge.Cause),
        _ => null,
    };

    private static MvcProblemDetails NotFound(ModelNotFoundException exception)
    {
        IReadOnlyList<string> known = exception.KnownModels;
        MvcProblemDetails problem = Problem(
            StatusCodes.Status404NotFound,
            $"There is no model named '{Shorten(exception.ModelName)}'.",
            exception.Message,
            exception.ModelName,
            "no model of that name is registered, and no template serves it");
        problem.Extensions["knownModels"] = known.Count <= MaxKnownModelsShown ? known : [.. known.Take(MaxKnownModelsShown)];
        problem.Extensions["modelCount"] = known.Count;
        return problem;
    }

    // 421 Misdirected Request (RFC 9110 15.5.20): this instance is not the one to answer for the name; a router
    // (ModelCaching.Routing) retries an owner. The owners are listed so that any client can.
    private static MvcProblemDetails NotOwned(ModelNotOwnedException exception)
    {
        MvcProblemDetails problem = Problem(
            StatusCodes.Status421MisdirectedRequest,
            $"Model '{Shorten(exception.ModelName)}' is served by other instances.",
            exception.Message,
            exception.ModelName,
            exception.Cause,
            ("instance", exception.InstanceId));
        var owners = new Dictionary<string, string?>[exception.Owners.Count];
        for (int i = 0; i < owners.Length; i++)
        {
            owners[i] = new Dictionary<string, string?> { ["id"] = exception.Owners[i], ["address"] = exception.OwnerAddresses[i] };
        }

        problem.Extensions["owners"] = owners;
        return problem;
    }

    private static MvcProblemDetails InvalidName(InvalidModelNameException exception) => Problem(
        StatusCodes.Status400BadRequest,
        "The model name is not valid.",
        exception.Message,
        exception.ModelName,
        exception.Problem,
        ("template", exception.TemplateName),
        ("rule", "1 to 128 characters, each an ASCII letter, digit, '-', '_' or '.', starting with a letter or a digit"));

    private static MvcProblemDetails Problem(int status, string title, string detail, string? modelName, string cause, params (string Key, object? Value)[] extensions)
    {
        var problem = new MvcProblemDetails { Status = status, Title = title, Detail = detail };

        // The name as shown in messages: a name that fails may be 10,000 characters long, or hold control characters.
        problem.Extensions["model"] = Shorten(modelName);
        problem.Extensions["cause"] = cause;
        foreach ((string key, object? value) in extensions)
        {
            problem.Extensions[key] = value;
        }

        return problem;
    }

    private static string Shorten(string? name) => name is null ? "(null)" : ModelStatusQuery.Shorten(name);
}
