package peso.neo4j;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;

/**
 * Runs Neo4j community in-process for Peso's tests: Bolt on 127.0.0.1 at a free port, data in a
 * fresh temporary folder, authentication on with a generated password for user neo4j, a bounded
 * page cache. When it is ready it writes PESO_TEST_NEO4J_URI/USER/PASSWORD to the env file given
 * as the first argument (atomically) and prints them. SIGTERM shuts it down and removes the data.
 *
 * Usage: java -Xmx1g -cp target/classes:target/lib/* peso.neo4j.LocalNeo4j ENV_FILE [PAGECACHE_MB]
 */
public final class LocalNeo4j {
    private LocalNeo4j() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: LocalNeo4j ENV_FILE [PAGECACHE_MB]");
            System.exit(2);
        }
        Path envFile = Path.of(args[0]).toAbsolutePath();
        long pageCacheMb = args.length > 1 ? Long.parseLong(args[1]) : 256L;
        Path home = Files.createTempDirectory("peso-neo4j-");
        int port = freePort();
        byte[] secret = new byte[18];
        new SecureRandom().nextBytes(secret);
        String password = HexFormat.of().formatHex(secret);

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, pageCacheMb * 1024L * 1024L)
                .build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("local-neo4j: shutting down");
            try {
                dbms.shutdown();
                Files.deleteIfExists(envFile);
                deleteTree(home);
            } catch (IOException | RuntimeException e) {
                System.err.println("local-neo4j: clean-up failed: " + e);
            } finally {
                stopped.countDown();
            }
        }, "local-neo4j-shutdown"));

        GraphDatabaseService system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        system.executeTransactionally(
                "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                Map.of("password", password));
        GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        String version = db.executeTransactionally(
                "CALL dbms.components() YIELD name, versions, edition "
                        + "RETURN name + ' ' + versions[0] + ' ' + edition AS v",
                Map.of(), r -> (String) r.next().get("v"));

        String uri = "bolt://127.0.0.1:" + port;
        String env = "PESO_TEST_NEO4J_URI=" + uri + "\n"
                + "PESO_TEST_NEO4J_USER=neo4j\n"
                + "PESO_TEST_NEO4J_PASSWORD=" + password + "\n"
                + "PESO_TEST_NEO4J_VERSION='" + version + "'\n";
        Path tmp = envFile.resolveSibling(envFile.getFileName() + ".tmp");
        Files.writeString(tmp, env, StandardCharsets.UTF_8);
        Files.move(tmp, envFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        System.out.println("local-neo4j: ready, " + version + " at " + uri
                + " user neo4j password " + password + " (data " + home + ")");
        System.out.flush();
        stopped.await();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
