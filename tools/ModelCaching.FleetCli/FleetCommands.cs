using System.CommandLine;

namespace ModelCaching.FleetCli;

/// <summary>
/// The commands of <c>modelcaching-fleet</c> (System.CommandLine parses them: help, errors and completions come with it):
/// publish, rollback, pin, unpin, promote, abort and status of a fleet's models, through <see cref="IModelFleet"/> over Redis.
/// </summary>
internal static class FleetCommands
{
    public static RootCommand Build(TextWriter? output = null, TextWriter? error = null)
    {
        var redis = new Option<string>("--redis") { Description = "The StackExchange.Redis configuration (host:port[,password=…][,ssl=true]); or MODELCACHING_FLEET_REDIS.", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("MODELCACHING_FLEET_REDIS") ?? string.Empty };
        var fleet = new Option<string>("--fleet") { Description = "The fleet's name (RedisFleetOptions.FleetName).", DefaultValueFactory = _ => "default" };
        var keyPrefix = new Option<string?>("--key-prefix") { Description = "The fleet's key prefix in Redis, when not the default (modelcaching:fleet)." };
        var keyFile = new Option<FileInfo?>("--key-file") { Description = "A file holding the fleet's signing key (base64, as RedisFleetOptions.SigningKey): records are signed with it." };
        var model = new Option<string>("--model") { Description = "The model's name.", Required = true };
        var file = new Option<FileInfo?>("--file") { Description = "The model file to publish (or --location)." };
        var location = new Option<string?>("--location") { Description = "Publish by location instead of a file: an absolute path, an http(s) address, or azure-blob://container/blob[?versionid=…|?snapshot=…]. Nothing secret: the instances use their own credentials." };
        var sha256 = new Option<string?>("--sha256") { Description = "With --location: the content's SHA-256 (64 hex digits); without it the tool reads an azure-blob:// location to compute it." };
        var size = new Option<long?>("--size") { Description = "With --location and --sha256: the content's length in bytes." };
        var azureStorage = new Option<string?>("--azure-storage") { Description = "A storage connection string to read an azure-blob:// location with; or MODELCACHING_FLEET_AZURE_STORAGE. Used by this tool only, never published.", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("MODELCACHING_FLEET_AZURE_STORAGE") };
        var azureServiceUri = new Option<Uri?>("--azure-service-uri") { Description = "The blob service (https://account.blob.core.windows.net) to read an azure-blob:// location from, with DefaultAzureCredential." };
        var canary = new Option<double?>("--canary") { Description = "Publish to this share of the instances first (0 to 1, exclusive); promote or abort later." };
        var versionId = new Option<string?>("--version-id") { Description = "The new version's id (default: v{UTC time}-{SHA-256 prefix})." };
        var byPath = new Option<bool>("--by-path") { Description = "Publish the file by its full path (every instance must read it: a shared volume) rather than its bytes in Redis." };
        var pinVersion = new Option<string?>("--version-id") { Description = "The version to pin (default: the one the fleet serves)." };
        var reason = new Option<string?>("--reason") { Description = "Why, for the record and the status." };
        var json = new Option<bool>("--json") { Description = "Print the status as JSON." };

        Option[] connection = [redis, fleet, keyPrefix, keyFile];
        Command With(Command command, params Option[] options)
        {
            foreach (Option option in connection.Concat(options))
            {
                command.Options.Add(option);
            }

            return command;
        }

        FleetCliRunner Runner(ParseResult r) => new(r.GetValue(redis)!, r.GetValue(fleet)!, r.GetValue(keyPrefix), r.GetValue(keyFile), new AzureStorage(r.GetValue(azureStorage), r.GetValue(azureServiceUri)), output ?? Console.Out, error ?? Console.Error);

        Command publish = With(new Command("publish", "Publishes a model file (or a location) as a new version; every instance (or, with --canary, a share of them first) loads exactly it."), model, file, location, sha256, size, azureStorage, azureServiceUri, canary, versionId, byPath);
        publish.Validators.Add(r =>
        {
            if ((r.GetValue(file) is null) == (r.GetValue(location) is null))
            {
                r.AddError("give --file or --location (one of them)");
            }
        });
        publish.SetAction((r, ct) => r.GetValue(location) is { } where
            ? Runner(r).PublishLocationAsync(r.GetValue(model)!, where, r.GetValue(sha256), r.GetValue(size), r.GetValue(canary), r.GetValue(versionId), ct)
            : Runner(r).PublishAsync(r.GetValue(model)!, r.GetValue(file)!, r.GetValue(canary), r.GetValue(versionId), r.GetValue(byPath), ct));

        Command rollback = With(new Command("rollback", "Every instance goes back to the version published before the one the fleet serves, skipping versions withdrawn (their rollout stopped or was aborted)."), model);
        rollback.SetAction((r, ct) => Runner(r).ChangeAsync("rolled back", r.GetValue(model)!, (f, m, c) => f.RollbackAsync(m, c), ct));

        Command pin = With(new Command("pin", "Holds the fleet on a version: publishes are kept but do not move it. A pin to another version during a canary stage withdraws the canary version."), model, pinVersion);
        pin.SetAction((r, ct) => Runner(r).ChangeAsync("pinned", r.GetValue(model)!, (f, m, c) => f.PinAsync(m, r.GetValue(pinVersion), c), ct));

        Command unpin = With(new Command("unpin", "Ends a pin: the newest published version not withdrawn (its rollout stopped or was aborted) becomes the desired one."), model);
        unpin.SetAction((r, ct) => Runner(r).ChangeAsync("unpinned", r.GetValue(model)!, (f, m, c) => f.UnpinAsync(m, c), ct));

        Command promote = With(new Command("promote", "Sends a staged rollout's version from its canaries to every instance."), model);
        promote.SetAction((r, ct) => Runner(r).ChangeAsync("promoted", r.GetValue(model)!, (f, m, c) => f.PromoteAsync(m, c), ct));

        Command abort = With(new Command("abort", "Takes a staged rollout's canaries back to the version the rest of the fleet serves."), model, reason);
        abort.SetAction((r, ct) => Runner(r).ChangeAsync("aborted", r.GetValue(model)!, (f, m, c) => f.AbortAsync(m, r.GetValue(reason), c), ct));

        var statusModel = new Option<string?>("--model") { Description = "Only this model." };
        Command status = With(new Command("status", "Per model: the desired version and its rollout, how many instances serve which version, which failed with what."), statusModel, json);
        status.SetAction((r, ct) => Runner(r).StatusAsync(r.GetValue(statusModel), r.GetValue(json), ct));

        var root = new RootCommand("modelcaching-fleet: publish, roll back, pin and stage model versions across a ModelCaching fleet (Redis), and see who serves what.");
        foreach (Command command in (Command[])[publish, rollback, pin, unpin, promote, abort, status])
        {
            root.Subcommands.Add(command);
        }

        return root;
    }
}
