namespace ModelCaching.Generations;

/// <summary>
/// What a <see cref="ModelVersion"/> keeps instead of its <see cref="ModelVersion.Source"/> string when the string is
/// made from other parts (a template's factory and the model's name): the description is made when read, which is rare
/// (status pages, logs of the version), while every version of every known name would keep the string (issue 18).
/// </summary>
internal interface IVersionSource
{
    string Description { get; }
}
