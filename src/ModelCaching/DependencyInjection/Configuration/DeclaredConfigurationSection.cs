namespace ModelCaching;

/// <summary>
/// An options type that binds from inside the <c>ModelCache</c> section, declared by the package that binds it
/// (<c>DeclareConfigurationSection</c>), so the check at start knows its keys: either a section of its own
/// (<see cref="Section"/>: <c>ModelCache:Fleet</c>, say) or a key under every model and template (<see cref="ModelKey"/>:
/// <c>ModelCache:Models:{name}:{key}</c>).
/// </summary>
internal sealed class DeclaredConfigurationSection(Microsoft.Extensions.Configuration.IConfiguration? section, string? modelKey, Type optionsType)
{
    public Microsoft.Extensions.Configuration.IConfiguration? Section { get; } = section;

    public string? ModelKey { get; } = modelKey;

    public Type OptionsType { get; } = optionsType;
}
