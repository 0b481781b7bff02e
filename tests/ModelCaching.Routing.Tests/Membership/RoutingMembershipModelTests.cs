using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Logging.Abstractions;
using ModelCaching.Routing.Membership;
using ModelCaching.Routing.Proxy;
using Yarp.ReverseProxy.Configuration;

namespace ModelCaching.Routing.Tests.Membership;

/// <summary>
/// Model-based: a sequence of membership reads (instances coming, going, changing or losing their address) applied to the
/// router's membership and YARP's config provider, checked after each against a model (the live instances with a valid
/// http(s) address): the cluster's destinations are the model's, a new config (and a fired change token) comes exactly
/// when the model changed, and the same config object otherwise.
/// </summary>
public sealed class RoutingMembershipModelTests
{
    private static readonly string?[] s_addresses = ["http://10.0.0.1:5080", "http://10.0.0.2:5080", "https://pod:443", "not an address", "ftp://x", null];

    private static Gen<FleetMember[]> Read() =>
        from present in Gen.ArrayOf(Gen.Elements(true, false), 5)
        from addresses in Gen.ArrayOf(Gen.Elements(s_addresses), 5)
        select Enumerable.Range(0, 5)
            .Where(i => present[i])
            .Select(i => new FleetMember { InstanceId = $"i{i}", Host = "h", Address = addresses[i], Replicas = 2, Models = [] })
            .ToArray();

    [FsCheck.Xunit.Property(MaxTest = 200)]
    public Property TheClustersDestinations_FollowEveryRead_AndChangeExactlyWhenTheAddressesDo()
    {
        return Prop.ForAll(Gen.ListOf(Read(), 12).ToArbitrary(), reads =>
        {
            var settings = new RoutingSettings(new ModelCacheRoutingOptions { Configuration = "localhost:1" });
            var membership = new RoutingMembership(settings, TimeProvider.System, NullLogger<RoutingMembership>.Instance);
            var provider = new ModelCacheProxyConfigProvider(settings, membership);
            IProxyConfig config = provider.GetConfig();
            string model = string.Empty;
            foreach (FleetMember[] read in reads)
            {
                membership.Apply(new RoutingTable(read));
                string expected = string.Join(";", read
                    .Where(m => Uri.TryCreate(m.Address, UriKind.Absolute, out Uri? uri) && uri.Scheme is "http" or "https")
                    .Select(m => $"{m.InstanceId}={m.Address}"));
                IProxyConfig next = provider.GetConfig();
                ClusterConfig cluster = Assert.Single(next.Clusters);
                string actual = string.Join(";", cluster.Destinations!.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => $"{d.Key}={d.Value.Address}"));
                bool changed = expected != model;
                if (actual != expected || cluster.ClusterId != "modelcache" || config.ChangeToken.HasChanged != changed || ReferenceEquals(next, config) == changed || next.ChangeToken.HasChanged)
                {
                    return false;
                }

                model = expected;
                config = next;
            }

            return true;
        });
    }
}
