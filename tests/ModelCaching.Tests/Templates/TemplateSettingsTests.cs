using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Templates;

/// <summary>
/// A template's models share one snapshot of their settings when nothing in them depends on the name (issue 18: what a
/// known name costs), and each keeps its own factory; settings that differ are never shared.
/// </summary>
public sealed class TemplateSettingsTests
{
    private static readonly Func<string, CancellationToken, ValueTask<FakeModel>> Build = static (name, _) => ValueTask.FromResult(new FakeModel("built:" + name));

    [Fact]
    public async Task Models_of_a_factory_template_share_one_settings_snapshot_and_each_builds_from_its_own_name()
    {
        var services = new ServiceCollection();
        services.AddModelCache().AddModelTemplate<FakeModel>("built", t => t.FromFactory(Build, "trainer").Configure(options => options.LoadTimeout = TimeSpan.FromSeconds(7)));
        await using ServiceProvider provider = services.BuildServiceProvider();
        IModelCacheProvider caches = provider.GetRequiredService<IModelCacheProvider>();

        var alpha = (ModelCache<FakeModel>)caches.GetCache<FakeModel>("alpha");
        var beta = (ModelCache<FakeModel>)caches.GetCache<FakeModel>("beta");

        Assert.Same(SettingsOf(alpha), SettingsOf(beta));
        Assert.Equal("built:alpha", alpha.GetModel().Content);
        Assert.Equal("built:beta", beta.GetModel().Content);
        Assert.Equal("trainer (alpha)", alpha.SourceDescription);
        Assert.Equal("trainer (beta)", beta.SourceDescription);

        // What a cache reports of its settings is its own: its factory, and a copy that changes nothing shared.
        Assert.Equal("trainer (alpha)", alpha.Options.Factory!.Description);
        Assert.Equal("trainer (beta)", beta.Options.Factory!.Description);
        alpha.Options.LoadTimeout = TimeSpan.FromSeconds(1);
        Assert.Equal(TimeSpan.FromSeconds(7), beta.Options.LoadTimeout);
        Assert.Equal(TimeSpan.FromSeconds(7), SettingsOf(alpha).LoadTimeout);
    }

    [Fact]
    public async Task Models_of_a_factory_template_keep_the_templates_one_factory_and_make_their_own_when_asked()
    {
        var services = new ServiceCollection();
        services.AddModelCache().AddModelTemplate<FakeModel>("built", t => t.FromFactory(Build, "trainer"));
        await using ServiceProvider provider = services.BuildServiceProvider();
        IModelCacheProvider caches = provider.GetRequiredService<IModelCacheProvider>();

        var alpha = (ModelCache<FakeModel>)caches.GetCache<FakeModel>("alpha");
        var beta = (ModelCache<FakeModel>)caches.GetCache<FakeModel>("beta");
        Assert.Equal("built:alpha", (await alpha.GetModelAsync()).Content);
        Assert.Equal("built:beta", (await beta.GetModelAsync()).Content);

        // Each keeps the template's factory (one object for all its names), not a factory and a description of its own.
        Assert.IsType<TemplateModelFactory<FakeModel>>(alpha.Origin);
        Assert.Same(alpha.Origin, beta.Origin);

        // What is made when asked for names the model: its factory, its description, its versions' source.
        Assert.Equal("trainer (alpha)", alpha.Factory!.Description);
        Assert.Equal("trainer (beta)", beta.Factory!.Description);
        Assert.Equal("trainer (alpha)", alpha.Version!.Source);
        Assert.Equal("trainer (beta)", beta.Version!.Source);
        Assert.Equal("built:beta", (await beta.Factory.CreateAsync(CancellationToken.None)).Content);
    }

    [Fact]
    public void A_template_factory_with_an_empty_description_fails_when_a_model_is_made()
    {
        var template = new TemplateModelFactory<FakeModel>(Build, " ");

        ArgumentException error = Assert.Throws<ArgumentException>(() => new NamedModelFactory<FakeModel>(template, "alpha"));
        Assert.Equal("description", error.ParamName);
    }

    [Fact]
    public async Task Models_whose_settings_depend_on_their_name_get_settings_of_their_own()
    {
        var services = new ServiceCollection();
        services.AddModelCache().AddModelTemplate<FakeModel>("built", t => t
            .FromFactory(Build)
            .Configure((options, _, name) => options.LoadTimeout = TimeSpan.FromSeconds(name.Length)));
        await using ServiceProvider provider = services.BuildServiceProvider();
        IModelCacheProvider caches = provider.GetRequiredService<IModelCacheProvider>();

        var a = (ModelCache<FakeModel>)caches.GetCache<FakeModel>("a");
        var bb = (ModelCache<FakeModel>)caches.GetCache<FakeModel>("bb");
        var c = (ModelCache<FakeModel>)caches.GetCache<FakeModel>("c");

        Assert.NotSame(SettingsOf(a), SettingsOf(bb));
        Assert.Equal(TimeSpan.FromSeconds(1), a.Options.LoadTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), bb.Options.LoadTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), c.Options.LoadTimeout);
        Assert.Equal("built:c", c.GetModel().Content);
    }

    [Fact]
    public void SameApartFromName_takes_factories_by_name_of_one_template_as_equal_and_anything_else_as_it_is()
    {
        ModelOptions<FakeModel> alpha = Named("alpha");
        ModelOptions<FakeModel> beta = Named("beta");

        Assert.True(TemplateSettings<FakeModel>.SameApartFromName(alpha, beta));

        // Another FromFactory call (another delegate or description) is another factory.
        Assert.False(TemplateSettings<FakeModel>.SameApartFromName(alpha, Named("beta", build: static (_, _) => ValueTask.FromResult(new FakeModel("other")))));
        Assert.False(TemplateSettings<FakeModel>.SameApartFromName(alpha, Named("beta", description: "other")));
    }

    [Fact]
    public void SameApartFromName_compares_every_property_lists_item_by_item()
    {
        Func<FakeModel, CancellationToken, ValueTask> validator = static (_, _) => ValueTask.CompletedTask;
        ModelOptions<FakeModel> shared = Named("alpha");
        shared.Validators.Add(validator);

        ModelOptions<FakeModel> same = Named("beta");
        same.Validators.Add(validator);
        Assert.True(TemplateSettings<FakeModel>.SameApartFromName(shared, same));

        ModelOptions<FakeModel> otherValidator = Named("beta");
        otherValidator.Validators.Add(static (_, _) => ValueTask.CompletedTask);
        Assert.False(TemplateSettings<FakeModel>.SameApartFromName(shared, otherValidator));

        ModelOptions<FakeModel> otherPath = Named("beta");
        otherPath.Validators.Add(validator);
        otherPath.Source = new FileModelSource("/models/beta.bin");
        Assert.False(TemplateSettings<FakeModel>.SameApartFromName(shared, otherPath));

        ModelOptions<FakeModel> otherBase = Named("beta");
        otherBase.Validators.Add(validator);
        otherBase.HistoryLength = shared.HistoryLength + 1;
        Assert.False(TemplateSettings<FakeModel>.SameApartFromName(shared, otherBase));
    }

    private static ModelOptions<FakeModel> Named(string name, Func<string, CancellationToken, ValueTask<FakeModel>>? build = null, string description = "trainer") => new()
    {
        Factory = new NamedModelFactory<FakeModel>(build ?? Build, name, description),
    };

    private static ModelOptions<FakeModel> SettingsOf(ModelCache<FakeModel> cache) =>
        (ModelOptions<FakeModel>)typeof(ModelCache<FakeModel>).GetField("_options", BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(cache)!;
}
