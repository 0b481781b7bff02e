using System.Text;

namespace ModelCaching.Tests.Support;

/// <summary>An in-memory source whose content tests change, counting fetches.</summary>
public sealed class MutableSource : IModelSource
{
    private volatile string _content;
    private int _fetches;
    private Microsoft.Extensions.Primitives.CancellationChangeToken _token;
    private CancellationTokenSource _cts = new();

    public MutableSource(string content)
    {
        _content = content;
        _token = new(_cts.Token);
    }

    public string Description => "memory:test";

    public int Fetches => Volatile.Read(ref _fetches);

    public Exception? FailWith { get; set; }

    public string Content
    {
        get => _content;
        set => _content = value;
    }

    public ValueTask<ModelArtifact?> FetchAsync(ModelFetchContext context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _fetches);
        if (FailWith is { } failure)
        {
            throw failure;
        }

        return ValueTask.FromResult<ModelArtifact?>(new ModelArtifact(Encoding.UTF8.GetBytes(_content), Description));
    }

    /// <summary>Changes the content and fires the change token.</summary>
    public void Change(string content)
    {
        _content = content;
        CancellationTokenSource old = _cts;
        _cts = new CancellationTokenSource();
        _token = new(_cts.Token);
        old.Cancel();
    }

    public Microsoft.Extensions.Primitives.IChangeToken? GetChangeToken() => _token;
}

/// <summary>A loader that builds a <see cref="FakeModel"/> from UTF-8 text, failing on content starting with "bad".</summary>
public sealed class FakeLoader : IModelLoader<FakeModel>
{
    private int _loads;

    public int Loads => Volatile.Read(ref _loads);

    public List<FakeModel> Created { get; } = [];

    public Func<CancellationToken, Task>? BeforeLoad { get; set; }

    public async ValueTask<FakeModel> LoadAsync(ModelArtifact artifact, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _loads);
        if (BeforeLoad is { } before)
        {
            await before(cancellationToken);
        }

        string text = Encoding.UTF8.GetString(artifact.Content.Span);
        if (text.StartsWith("bad", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"corrupt model '{text}'");
        }

        var model = new FakeModel(text);
        lock (Created)
        {
            Created.Add(model);
        }

        return model;
    }
}
