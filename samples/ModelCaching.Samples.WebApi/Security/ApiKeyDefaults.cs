namespace ModelCaching.Samples.WebApi.Security;

/// <summary>Names of the sample's API-key scheme, roles and policies.</summary>
public static class ApiKeyDefaults
{
    /// <summary>The authentication scheme: <c>ApiKey</c>.</summary>
    public const string Scheme = "ApiKey";

    /// <summary>The role of the admin key: it may reload, roll back and publish models.</summary>
    public const string AdminRole = "model-admin";

    /// <summary>The role of the reader key: it may read the model status.</summary>
    public const string ReaderRole = "model-reader";

    /// <summary>The policy of the reload, rollback and publish endpoints: role <see cref="AdminRole"/>.</summary>
    public const string AdminPolicy = "ModelAdmin";

    /// <summary>The policy of the status endpoints: role <see cref="ReaderRole"/> or <see cref="AdminRole"/>.</summary>
    public const string ReaderPolicy = "ModelReader";
}
