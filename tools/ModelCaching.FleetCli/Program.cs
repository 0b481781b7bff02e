return await ModelCaching.FleetCli.FleetCommands.Build().Parse(args).InvokeAsync();
